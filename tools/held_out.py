"""The held-out photos of the shipped models' cards (no flags: imported by the evaluation tools and the tests).

scikit-image's three validation photos (chelsea, coffee, ihc; never trained on) and the two photographs of
Debian's `plasma-workspace-wallpapers` kept out of training (EveningGlow, Path; left out when the package is not
installed).
"""
import os
import tempfile

WALLPAPERS = ("/usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
              "/usr/share/wallpapers/Path/contents/images/2560x1600.jpg")


def held_out_sets(scale):
    """{"scikit-image": ImageSet, "wallpapers": ImageSet or None} of the held-out photos at `scale`."""
    from sr_keras.data import embedded_photos, hr_files

    present = [path for path in WALLPAPERS if os.path.isfile(path)]
    links = []
    if present:  # named after the wallpaper (every file is called 2560x1600.jpg)
        folder = tempfile.mkdtemp(prefix="held_out_wallpapers_")
        for path in present:
            links.append(os.path.join(folder, path.split(os.sep)[-4] + ".jpg"))
            os.symlink(path, links[-1])
    return {"scikit-image": embedded_photos("valid", scale),
            "wallpapers": hr_files(links, scale, name="held_out_wallpapers") if links else None}
