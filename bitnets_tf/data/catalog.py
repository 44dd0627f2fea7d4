"""What bitnets_tf knows about each dataset: metadata for models and where the data comes from.

``DatasetInfo`` is the public part (what a model and a ``.tflite`` metadata writer need);
``DatasetEntry`` adds how to obtain the data (tensorflow-datasets name, download host, IDX
folder names) and which preprocessing recipe to use.

Normalisation is given in raw pixel units, as TFLite metadata's ``NormalizationOptions``
expects it: ``x = (pixel - mean[c]) / std[c]`` with ``pixel`` in [0, 255].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from bitnets_tf._validation import check_choice


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a dataset as ``bitnets_tf.data.load`` delivers it.

    Attributes:
        name: the name ``load`` takes, e.g. ``"cifar10"``.
        num_classes: number of labels; labels are integers in ``[0, num_classes)``.
        input_shape: ``(height, width, channels)`` of the float32 images ``load`` yields
            (after cropping/resizing), i.e. the model's input shape.
        label_names: ``label_names[i]`` names label ``i``.
        mean, std: per-channel normalisation in pixel units (0..255):
            ``x = (pixel - mean[c]) / std[c]``.
        splits: the split names ``load`` accepts (with tfds slicing, e.g. ``"train[:90%]"``).
        train_split, eval_split: split names to pass to ``load`` for training and evaluation.
        preprocessing: what ``load`` does to every image (also the inference recipe).
        augmentation: what ``load(..., augment=True)`` adds for training.
    """

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]
    label_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    splits: tuple[str, ...]
    train_split: str
    eval_split: str
    preprocessing: str
    augmentation: str


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset's ``DatasetInfo`` plus how to get its data.

    ``label_names=()`` in ``info`` means: read them from the tensorflow-datasets builder
    (ImageNet's 1000 WordNet ids ship with tensorflow-datasets).
    """

    info: DatasetInfo
    tfds_name: str
    recipe: str  # key of bitnets_tf.data.preprocessing.RECIPES
    raw_shape: tuple[int | None, int | None, int]  # decoded image shape before preprocessing
    download_host: str | None  # host tensorflow-datasets downloads from; None: manual download
    idx_folders: tuple[str, ...] = ()  # sub-folder names holding IDX files; () = no IDX source
    manual_files: tuple[str, ...] = ()  # files tensorflow-datasets needs in its manual_dir


def _pixels(values: tuple[float, ...]) -> tuple[float, ...]:
    """Convert statistics of images scaled to [0, 1] into pixel units (0..255)."""
    return tuple(round(v * 255.0, 4) for v in values)


_MNIST_LIKE_PREPROCESSING = "uint8 pixels scaled to [-1, 1]: x = (pixel - 127.5) / 127.5"
_MNIST_LIKE_AUGMENTATION = "random shift of up to 2 pixels (zero-pad 2, random 28x28 crop)"
_CIFAR_PREPROCESSING = "per-channel mean/std normalisation"
_CIFAR_AUGMENTATION = "zero-pad 4, random 32x32 crop, random horizontal flip"

FASHION_MNIST_LABELS = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR10_LABELS = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR100_LABELS = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

DATASETS: dict[str, DatasetEntry] = {
    "mnist": DatasetEntry(
        info=DatasetInfo(
            name="mnist", num_classes=10, input_shape=(28, 28, 1),
            label_names=tuple(str(digit) for digit in range(10)),
            mean=(127.5,), std=(127.5,),
            splits=("train", "test"), train_split="train", eval_split="test",
            preprocessing=_MNIST_LIKE_PREPROCESSING, augmentation=_MNIST_LIKE_AUGMENTATION,
        ),
        tfds_name="mnist", recipe="mnist", raw_shape=(28, 28, 1),
        download_host="storage.googleapis.com", idx_folders=("mnist",),
    ),
    "fashion_mnist": DatasetEntry(
        info=DatasetInfo(
            name="fashion_mnist", num_classes=10, input_shape=(28, 28, 1),
            label_names=FASHION_MNIST_LABELS,
            mean=(127.5,), std=(127.5,),
            splits=("train", "test"), train_split="train", eval_split="test",
            preprocessing=_MNIST_LIKE_PREPROCESSING, augmentation=_MNIST_LIKE_AUGMENTATION,
        ),
        tfds_name="fashion_mnist", recipe="mnist", raw_shape=(28, 28, 1),
        download_host="fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        idx_folders=("fashion_mnist", "fashion-mnist"),
    ),
    "cifar10": DatasetEntry(
        info=DatasetInfo(
            name="cifar10", num_classes=10, input_shape=(32, 32, 3),
            label_names=CIFAR10_LABELS,
            mean=_pixels((0.4914, 0.4822, 0.4465)), std=_pixels((0.2470, 0.2435, 0.2616)),
            splits=("train", "test"), train_split="train", eval_split="test",
            preprocessing=_CIFAR_PREPROCESSING, augmentation=_CIFAR_AUGMENTATION,
        ),
        tfds_name="cifar10", recipe="cifar", raw_shape=(32, 32, 3),
        download_host="www.cs.toronto.edu",
    ),
    "cifar100": DatasetEntry(
        info=DatasetInfo(
            name="cifar100", num_classes=100, input_shape=(32, 32, 3),
            label_names=CIFAR100_LABELS,
            mean=_pixels((0.5071, 0.4865, 0.4409)), std=_pixels((0.2673, 0.2564, 0.2762)),
            splits=("train", "test"), train_split="train", eval_split="test",
            preprocessing=_CIFAR_PREPROCESSING, augmentation=_CIFAR_AUGMENTATION,
        ),
        tfds_name="cifar100", recipe="cifar", raw_shape=(32, 32, 3),
        download_host="www.cs.toronto.edu",
    ),
    "imagenet2012": DatasetEntry(
        info=DatasetInfo(
            name="imagenet2012", num_classes=1000, input_shape=(224, 224, 3),
            label_names=(),
            mean=_pixels((0.485, 0.456, 0.406)), std=_pixels((0.229, 0.224, 0.225)),
            splits=("train", "validation"), train_split="train", eval_split="validation",
            preprocessing=(
                "eval: resize the shorter side to 256, central 224x224 crop; "
                "then per-channel mean/std normalisation"
            ),
            augmentation=(
                "instead of resize + central crop: random-resized crop (area 8%-100%, aspect "
                "3/4-4/3) resized to 224x224, random horizontal flip"
            ),
        ),
        tfds_name="imagenet2012", recipe="imagenet", raw_shape=(None, None, 3),
        download_host=None, manual_files=("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"),
    ),
}  # fmt: skip


def available_datasets() -> list[str]:
    """Names that ``load`` and ``info`` accept."""
    return sorted(DATASETS)


def idx_datasets() -> list[str]:
    """Names of the datasets that can be read from (and imported from) IDX files."""
    return sorted(name for name, found in DATASETS.items() if found.idx_folders)


def entry(name: str) -> DatasetEntry:
    """The catalog entry of ``name``, or a ValueError listing the known names."""
    return DATASETS[check_choice("name", name, DATASETS)]


def info(name: str) -> DatasetInfo:
    """Metadata of dataset ``name`` (see ``DatasetInfo``); needs no data on disk."""
    found = entry(name)
    if found.info.label_names:
        return found.info
    return replace(found.info, label_names=_tfds_label_names(found.tfds_name))


@functools.cache
def _tfds_label_names(tfds_name: str) -> tuple[str, ...]:
    import tensorflow_datasets as tfds

    return tuple(tfds.builder(tfds_name).info.features["label"].names)
