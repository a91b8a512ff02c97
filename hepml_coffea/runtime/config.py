"""The inference settings of a process: batch size, threads and backend, from :func:`configure`
or the environment (``HEPML_COFFEA_BATCH_SIZE``, ``HEPML_COFFEA_THREADS``,
``HEPML_COFFEA_BACKEND``), read when they are used."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from hepml_coffea.errors import ConfigurationError

if TYPE_CHECKING:
    from hepml_coffea.artifacts import ModelCard

DEFAULT_BATCH_SIZE = 4096
DEFAULT_BACKEND = "keras"
BACKENDS = ("keras", "onnx")
BATCH_SIZE_ENV = "HEPML_COFFEA_BATCH_SIZE"
THREADS_ENV = "HEPML_COFFEA_THREADS"
BACKEND_ENV = "HEPML_COFFEA_BACKEND"


class RuntimeSettings:
    """The inference settings of this process: what :func:`configure` set, else the environment
    variables, read (and checked) each time a setting is used, so a bad value never breaks an import."""

    def __init__(self) -> None:
        self.configured_batch_size: int | None = None
        self.configured_threads: int | None = None
        self.configured_backend: str | None = None
        self.configured_plugin_backends: dict[str, str] = {}

    @property
    def batch_size(self) -> int:
        """Objects per inference batch: :func:`configure`, else ``HEPML_COFFEA_BATCH_SIZE``, else 4096."""
        return self.batch_size_for(None)

    def batch_size_for(self, card: ModelCard | None) -> int:
        """:func:`configure`, else ``HEPML_COFFEA_BATCH_SIZE``, else the card's, else 4096."""
        if self.configured_batch_size is not None:
            return self.configured_batch_size
        return (
            _from_environment(BATCH_SIZE_ENV, 1024)
            or (card.batch_size if card is not None else None)
            or DEFAULT_BATCH_SIZE
        )

    @property
    def threads(self) -> int | None:
        """Inference threads: :func:`configure`, else ``HEPML_COFFEA_THREADS``, else the library's default."""
        if self.configured_threads is not None:
            return self.configured_threads
        return _from_environment(THREADS_ENV, 4)

    def backend_for(self, plugin_name: str) -> tuple[str | None, str]:
        """The backend asked for ``plugin_name`` (None: no preference) and who asked, for messages.

        Per plugin before global, :func:`configure` before the environment.
        """
        environment = _backends_from_environment()
        for backend, source in (
            (self.configured_plugin_backends.get(plugin_name), "configure(plugin_backends=...)"),
            (environment.get(plugin_name), f"{BACKEND_ENV}={os.environ.get(BACKEND_ENV)}"),
            (self.configured_backend, "configure(backend=...)"),
            (environment.get(""), f"{BACKEND_ENV}={os.environ.get(BACKEND_ENV)}"),
        ):
            if backend is not None:
                return backend, source
        return None, "default"


settings = RuntimeSettings()
_threads_applied = False


def configure(
    *,
    batch_size: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    plugin_backends: Mapping[str, str] | None = None,
) -> None:
    """Set the inference batch size, thread count and backend for this process.

    :param backend: ``"keras"`` or ``"onnx"`` for every plugin whose artifact has that format.
    :param plugin_backends: ``{plugin name: backend}``, before ``backend``.

    TensorFlow threads only take effect before the first model is loaded in the process; ONNX
    Runtime threads for every session created afterwards. Models already loaded keep their backend.
    """
    if batch_size is not None:
        settings.configured_batch_size = _positive(
            "configure(batch_size=...)", batch_size, "batch_size=1024"
        )
    if threads is not None:
        settings.configured_threads = _positive("configure(threads=...)", threads, "threads=4")
    if backend is not None:
        settings.configured_backend = backend_name("configure(backend=...)", backend)
    if plugin_backends is not None:
        settings.configured_plugin_backends = {
            str(name): backend_name(f"configure(plugin_backends={{{name!r}: ...}})", value)
            for name, value in plugin_backends.items()
        }


def backend_name(what: str, value: object) -> str:
    if value not in BACKENDS:
        raise ConfigurationError(
            f"{what}: unknown backend {value!r}; choose one of {', '.join(BACKENDS)}"
        )
    return str(value)


def _backends_from_environment() -> dict[str, str]:
    """``HEPML_COFFEA_BACKEND`` as ``{"": global, plugin: backend}``: e.g. ``onnx,particlenet_lite=keras``."""
    raw = os.environ.get(BACKEND_ENV, "").strip()
    choices: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        plugin, _, backend = item.rpartition("=")
        if backend.strip() not in BACKENDS or (item.count("=") and not plugin.strip()):
            raise ConfigurationError(
                f"{BACKEND_ENV}={raw!r}: {item!r} is not a backend ({', '.join(BACKENDS)}) nor "
                f"plugin=backend; set e.g. {BACKEND_ENV}=onnx or {BACKEND_ENV}=keras,pfn=onnx"
            )
        choices[plugin.strip()] = backend.strip()
    return choices


def _positive(what: str, value: object, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigurationError(
            f"{what} must be a positive integer, got {value!r}; e.g. {example}"
        )
    return int(value)


def _from_environment(name: str, example: int) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"{name}={raw!r} is not a positive integer; set e.g. {name}={example}, or unset it"
        )
    return value


def apply_thread_settings() -> None:
    global _threads_applied
    count = settings.threads
    if _threads_applied or count is None:
        return
    _threads_applied = True
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
    except RuntimeError:
        warnings.warn(
            f"hepml-coffea: TensorFlow was initialised before {THREADS_ENV} could be applied;"
            " set it (or call configure(threads=...)) before the first model is loaded",
            stacklevel=3,
        )
