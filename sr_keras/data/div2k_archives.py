"""What DIV2K is made of (Agustsson & Timofte, "NTIRE 2017 Challenge on Single Image Super-Resolution: Dataset
and Study", CVPRW 2017): its splits, its tracks and their scales, its folders and file names, and the official
archives with their sizes and sha256. The one table of the package: `sr_keras.data.div2k` reads the folders it
names, `sr_keras.data.div2k_download` fetches the archives it lists.

    root/DIV2K_train_HR/0001.png ... 0800.png            root/DIV2K_valid_HR/0801.png ... 0900.png
    root/DIV2K_{split}_LR_bicubic/X{s}/0001x{s}.png      root/DIV2K_{split}_LR_unknown/X{s}/0001x{s}.png
    root/DIV2K_{split}_LR_x8/0001x8.png                  root/DIV2K_{split}_LR_mild/0001x4m.png
    root/DIV2K_{split}_LR_difficult/0001x4d.png

An archive is named after its folder: `DIV2K_train_LR_bicubic/X4` comes in `DIV2K_train_LR_bicubic_X4.zip`.
Standard library only.
"""
from typing import NamedTuple


class Track(NamedTuple):
    scales: tuple  # the SR factors it has
    folder: str    # its LR folder relative to root, with {split} and {scale}
    suffix: str    # the LR file name after the image number, with {scale}: "x4" for "0001x4.png"


SPLITS = ("train", "valid")
TRACKS = {
    "bicubic": Track((2, 3, 4), "DIV2K_{split}_LR_bicubic/X{scale}", "x{scale}"),
    "unknown": Track((2, 3, 4), "DIV2K_{split}_LR_unknown/X{scale}", "x{scale}"),
    "x8": Track((8,), "DIV2K_{split}_LR_x8", "x8"),
    "mild": Track((4,), "DIV2K_{split}_LR_mild", "x4m"),
    "difficult": Track((4,), "DIV2K_{split}_LR_difficult", "x4d"),
}
HR = Track((1,), "DIV2K_{split}_HR", "")
# Images per folder and the number of the first image of each split.
COUNTS = {"train": 800, "valid": 100}
FIRST_IMAGE = {"train": 1, "valid": 801}

BASE_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"

# name -> (size in bytes, sha256) of the official archives.
ARCHIVES = {
    "DIV2K_train_HR.zip": (3530603713, "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335"),
    "DIV2K_train_LR_bicubic_X2.zip": (925390592, "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"),
    "DIV2K_train_LR_bicubic_X3.zip": (427847282, "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a"),
    "DIV2K_train_LR_bicubic_X4.zip": (246914039, "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a"),
    "DIV2K_train_LR_difficult.zip": (263211252, "50624a649a0857fdb8e4a948e79c44c37dedbacb5729f9349cc983c47bfdf799"),
    "DIV2K_train_LR_mild.zip": (275693358, "ce5fbe6252d1000c55656b0666dccdeaf8e66b86ae5ff528c49343012e8e1391"),
    "DIV2K_train_LR_unknown_X2.zip": (734182735, "f166eeba119fc55bfc9a99c05561980e7a965382f36640ce8ef626c9f61d122c"),
    "DIV2K_train_LR_unknown_X3.zip": (377245548, "b6455af3b2aa02d76ae3238c49d7aae3b48b0acdc44b5bdc0f4c02d40ebcb43b"),
    "DIV2K_train_LR_unknown_X4.zip": (208956781, "d131c7aad51e0abbdc4433362ce899e5e75f40b9847ead70ee995188e8fd0adb"),
    "DIV2K_train_LR_x8.zip": (65753171, "706fa23164fa0756a3accb78e69b937ea47f882b47e13506895deefd623a35c2"),
    "DIV2K_valid_HR.zip": (448993893, "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc"),
    "DIV2K_valid_LR_bicubic_X2.zip": (117763600, "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"),
    "DIV2K_valid_LR_bicubic_X3.zip": (54513392, "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3"),
    "DIV2K_valid_LR_bicubic_X4.zip": (31505881, "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553"),
    "DIV2K_valid_LR_difficult.zip": (33596835, "08b4e740496b50846497463121329c707dd8ed26eb8a655d175e9a595286d5e8"),
    "DIV2K_valid_LR_mild.zip": (35300939, "eedfbcb6acc6662a3f52924aaa5a423693244f3276d37c3fca7944c7325859ff"),
    "DIV2K_valid_LR_unknown_X2.zip": (93433041, "ec50bb084c0011130874efd2ed7859b46e0aa7104c565818d5271ac315e04e0a"),
    "DIV2K_valid_LR_unknown_X3.zip": (48143315, "ebf23a3e1ef6800cae97285d3a50d022d89b62655e685884c0abcc89eec5b809"),
    "DIV2K_valid_LR_unknown_X4.zip": (26695095, "e3897555a98de1157c20974fb6093105fbc1ff5e9caf7bd348f58f6da140fbef"),
    "DIV2K_valid_LR_x8.zip": (8428103, "3432f23da7c6887acc5e2cde9669427a7710b3b256c58912dddc19e3eda5bc69"),
}


class UsageError(ValueError):
    """A bad option (unknown split or track, a scale a track does not have, an unusable root): exit code 2."""


class Archive(NamedTuple):
    name: str      # e.g. "DIV2K_train_LR_bicubic_X4.zip"
    split: str     # "train" or "valid"
    track: str     # "HR" or a track of TRACKS
    scale: int     # 1 for HR
    folder: str    # extracted folder relative to root, e.g. "DIV2K_train_LR_bicubic/X4"
    suffix: str    # file name suffix after the image number, e.g. "x4" for "0001x4.png"
    size: int
    sha256: str

    def url(self, base_url=BASE_URL):
        return base_url.rstrip("/") + "/" + self.name


def track_scales():
    """The tracks and their scales in words: "bicubic 2 3 4, unknown 2 3 4, x8 8, mild 4, difficult 4"."""
    return ", ".join(f"{name} {' '.join(map(str, track.scales))}" for name, track in TRACKS.items())


def archive(split, track, scale, table=None):
    """The `Archive` of a split's track at a scale (track "HR", scale 1: the HR images).

    Args:
        table: {archive name: (size in bytes, sha256)}, ARCHIVES by default.
    """
    entry = HR if track == "HR" else TRACKS[track]
    folder = entry.folder.format(split=split, scale=scale)
    name = folder.replace("/", "_") + ".zip"
    size, sha256 = (ARCHIVES if table is None else table)[name]
    return Archive(name, split, track, scale, folder, entry.suffix.format(scale=scale), size, sha256)


def _unique(values):
    return list(dict.fromkeys(values))


def archives_for(splits=SPLITS, tracks=("bicubic",), scales=None, hr=True, table=None):
    """The archives of the requested splits, tracks and scales, HR first within each split.

    Args:
        splits: any of "train", "valid".
        tracks: any of TRACKS (may be empty with hr=True).
        scales: scales of the tracks; None gives every scale of every track. Each requested track must have at
            least one requested scale (x8 has only 8; mild and difficult only 4), and each requested scale must
            belong to a requested track.
        hr: include the HR archive of each split.
        table: {archive name: (size in bytes, sha256)} for every archive, ARCHIVES by default.

    Raises:
        UsageError: an unknown split or track, a scale no requested track has, or nothing to download.
    """
    splits, tracks = _unique(splits), _unique(tracks)
    for split in splits:
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    for track in tracks:
        if track not in TRACKS:
            raise UsageError(f"unknown track {track!r} (choose from {', '.join(TRACKS)})")
    if not splits:
        raise UsageError(f"no split given (choose from {', '.join(SPLITS)})")
    if not tracks and not hr:
        raise UsageError("nothing to download: no track and --nohr")
    if scales is None:
        chosen = {track: TRACKS[track].scales for track in tracks}
    else:
        scales, chosen = sorted(set(scales)), {}
        for track in tracks:
            chosen[track] = tuple(s for s in scales if s in TRACKS[track].scales)
            if not chosen[track]:
                have = " ".join(str(s) for s in TRACKS[track].scales)
                raise UsageError(f"track {track!r} has scale(s) {have}, not {' '.join(map(str, scales))} "
                                 f"(the tracks' scales: {track_scales()})")
        for scale in scales:
            if tracks and not any(scale in chosen[track] for track in tracks):
                raise UsageError(f"scale {scale} belongs to none of the tracks {', '.join(tracks)} "
                                 f"(the tracks' scales: {track_scales()})")
    result = []
    for split in splits:
        if hr:
            result.append(archive(split, "HR", 1, table))
        for track in tracks:
            result.extend(archive(split, track, scale, table) for scale in chosen[track])
    return result


def expected_names(split, suffix, count=None):
    """The image file names of a DIV2K folder, e.g. {"0801x4.png", ...} for split "valid", suffix "x4"."""
    count = COUNTS[split] if count is None else count
    first = FIRST_IMAGE[split]
    return {f"{i:04d}{suffix}.png" for i in range(first, first + count)}
