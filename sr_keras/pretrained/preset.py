"""`Preset`: one named trained generator of `sr_keras.pretrained`."""
import dataclasses
import os

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

_DEFAULT_LICENCE = "Apache-2.0 (trained by sr_keras; the training images keep their own licences, see the card)"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named trained generator.

    Attributes:
        name: the name `load` and `--pretrained` take.
        architecture: the registry name of the generator (`sr_keras.models.MODELS`).
        scale: its SR factor.
        description: one line for the table.
        file: the `.keras` file inside the package (`weights/`), for models shipped with it.
        licence: the weights' licence (the original repository's).
        card: where its training and evaluation are documented.
        url: where the authors publish the file (presets not shipped with the package).
        filename: the published file's name (the cache keeps it).
        sha256: the hex digest or prefix the authors publish (torch.hub file names end in its first 8 digits);
            None where they publish none.
        member: the checkpoint's name inside a published .zip / .tar.gz archive (matched by its end).
        source: the `sr_keras.convert` source of the published file.
        published: the authors' own figure for it, with their protocol.
        page: the page that links the file, for a download by hand.
        companion: the preset whose weights `denoise_strength` interpolates with this one's (Real-ESRGAN's
            realesr-general-x4v3 and its "weak denoise" twin realesr-general-wdn-x4v3).
    """

    name: str
    architecture: str
    scale: int
    description: str
    file: str = None
    licence: str = _DEFAULT_LICENCE
    card: str = "docs/models/default.md"
    url: str = None
    filename: str = None
    sha256: str = None
    member: str = None
    source: str = None
    published: str = ""
    page: str = None
    companion: str = None

    @property
    def path(self):
        """The bundled `.keras` file (presets shipped with the package), else None."""
        return os.path.join(WEIGHTS_DIR, self.file) if self.file else None

    @property
    def bundled(self):
        return self.file is not None
