"""Plugin discovery and lookup.

Plugins come from the ``hepml_coffea`` entry-point group, built-ins included. Two environment
variables act as kill switches, in the manner of pytest and tox:

``HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD=1``
    load only the built-in plugins shipped with hepml-coffea, no third-party package.
``HEPML_COFFEA_BLOCK_PLUGINS=name,other``
    skip these entry points (a whole package) or these plugin names.

A third-party package that fails to import, or returns something that is not a valid plugin,
produces a :class:`PluginLoadWarning` naming it and is skipped; the analysis goes on.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points

import pluggy

from hepml_coffea import hookspecs
from hepml_coffea.errors import PluginDefinitionError, UnknownPluginError
from hepml_coffea.kinds import Kind, KindRegistrar, describe
from hepml_coffea.plugin import Plugin

ENTRY_POINT_GROUP = "hepml_coffea"
BUILTIN_DISTRIBUTION = "hepml-coffea"
DISABLE_AUTOLOAD_ENV = "HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "HEPML_COFFEA_BLOCK_PLUGINS"

#: the hook through which plugins of every kind are registered
PLUGINS_HOOK = "hepml_register_plugins"

_HOOK_NAMES = frozenset(name for name in vars(hookspecs) if name.startswith("hepml_"))


class PluginLoadWarning(UserWarning):
    """A plugin package could not be loaded and was skipped."""


@dataclass(frozen=True)
class _Source:
    entry_point: str
    distribution: str


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _env_list(name: str) -> frozenset[str]:
    return frozenset(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _distribution_name(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.metadata["Name"] if dist is not None else "<unknown distribution>"


def _one_line(exc: Exception) -> str:
    """``Type: first line of the message``, for a one-line error."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def _canonical(distribution: str) -> str:
    return distribution.lower().replace("_", "-")


def _is_builtin(entry_point: EntryPoint) -> bool:
    return _canonical(_distribution_name(entry_point)) == BUILTIN_DISTRIBUTION


class Registry:
    """All plugin kinds and plugins known in this process, keyed by name.

    :param autoload: load third-party entry points; defaults to the absence of
        ``HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD``.
    :param blocked: entry-point or plugin names to skip; defaults to ``HEPML_COFFEA_BLOCK_PLUGINS``.
    """

    def __init__(self, *, autoload: bool | None = None, blocked: Iterable[str] | None = None):
        self.autoload = not _env_flag(DISABLE_AUTOLOAD_ENV) if autoload is None else autoload
        self.blocked = _env_list(BLOCK_ENV) if blocked is None else frozenset(blocked)
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self._sources: dict[str, _Source] = {}
        self._failed: dict[
            str, tuple[_Source, str]
        ] = {}  # entry point -> (source, why it failed to import)
        self._kinds: dict[str, Kind] | None = None
        self._plugins: dict[str, Plugin] | None = None
        self._load_entry_points()

    def register(self, module: object, *, name: str, distribution: str = "<local>") -> None:
        """Register a hook-implementing module or object by hand (e.g. in a notebook)."""
        self.manager.register(module, name=name)
        try:
            self.manager.check_pending()  # a misspelt hook name would otherwise be ignored
        except pluggy.PluginValidationError as exc:
            self.manager.unregister(name=name)
            raise PluginDefinitionError(
                f"plugin module {name!r}: {exc}; name it one of {', '.join(sorted(_HOOK_NAMES))}"
            ) from exc
        self._sources[name] = _Source(name, distribution)
        self._kinds = self._plugins = None

    def _load_entry_points(self) -> None:
        # Built-ins first, whatever the order of sys.path: a package installed earlier on the
        # path that reuses a built-in entry point name is the one skipped, not the built-in.
        found = entry_points(group=ENTRY_POINT_GROUP)
        for entry_point in sorted(found, key=lambda ep: not _is_builtin(ep)):
            distribution = _distribution_name(entry_point)
            builtin = _is_builtin(entry_point)
            if entry_point.name in self.blocked or not (builtin or self.autoload):
                continue
            if entry_point.name in self._sources:
                if self._sources[entry_point.name].distribution == distribution:
                    continue  # the same package found twice on sys.path
                self._warn(
                    _Source(entry_point.name, distribution),
                    f"entry point name already used by {self._sources[entry_point.name].distribution!r}; "
                    "this package is skipped",
                )
                continue
            try:
                module = entry_point.load()
                self.register(module, name=entry_point.name, distribution=distribution)
            # A third-party import can raise anything; it must not take the analysis down.
            except Exception as exc:  # noqa: BLE001
                source, why = _Source(entry_point.name, distribution), _one_line(exc)
                self._failed[entry_point.name] = (source, why)
                self._warn(
                    source,
                    f"{entry_point.value!r} failed to import ({why}); the package is skipped. "
                    f"Fix or uninstall it, or set {BLOCK_ENV}={entry_point.name}.",
                )

    def _source(self, impl: pluggy.HookImpl) -> _Source:
        return self._sources.get(impl.plugin_name, _Source(impl.plugin_name, "<local>"))

    def _collect_kinds(self) -> dict[str, Kind]:
        kinds: dict[str, Kind] = {}
        owners: dict[str, str] = {}
        for impl in self.manager.hook.hepml_register_kinds.get_hookimpls():
            source = self._source(impl)
            registrar = KindRegistrar()
            try:
                impl.function(register=registrar)
            except Exception as exc:  # noqa: BLE001 - third-party code; see _load_entry_points
                self._warn(
                    source, f"hepml_register_kinds raised {_one_line(exc)}; its kinds are skipped"
                )
                continue
            for name, kind in registrar.kinds.items():
                if name in kinds:
                    self._warn(
                        source,
                        f"kind {name!r} is already registered by {owners[name]!r}; this one is skipped",
                    )
                else:
                    kinds[name], owners[name] = kind, source.distribution
        return kinds

    def _plugin_hooks(self) -> list[tuple[str, str | None]]:
        """(hook name, the kind its plugins must be, None for any): the plugins hook and the
        per-kind hooks of the registered kinds."""
        hooks: list[tuple[str, str | None]] = [(PLUGINS_HOOK, None)]
        for kind in self.kinds.values():
            if kind.plugin_hook is None:
                continue
            if kind.plugin_hook not in _HOOK_NAMES:
                warnings.warn(
                    f"hepml-coffea: {kind!r} names plugin_hook {kind.plugin_hook!r}, which is not "
                    f"a hepml-coffea hook; its plugins come through {PLUGINS_HOOK} only",
                    PluginLoadWarning,
                    stacklevel=3,
                )
                continue
            hooks.append((kind.plugin_hook, kind.name))
        return hooks

    def _collect(self) -> dict[str, Plugin]:
        plugins: dict[str, Plugin] = {}
        for hook_name, expected_kind in self._plugin_hooks():
            hook = getattr(self.manager.hook, hook_name)
            for impl in hook.get_hookimpls():
                source = self._source(impl)
                for plugin in self._call_one(impl, hook_name, source):
                    if expected_kind is not None and plugin.kind != expected_kind:
                        self._warn(
                            source,
                            f"{hook_name} returned {plugin.name!r} of kind "
                            f"{plugin.kind!r}; it is skipped",
                        )
                    elif plugin.kind not in self.kinds:
                        self._warn(
                            source,
                            f"plugin {plugin.name!r} is of kind {plugin.kind!r}, which no loaded "
                            f"package registers (kinds: {describe(self.kinds)}); it is skipped",
                        )
                    elif plugin.name in self.blocked:
                        continue
                    elif plugin.name in plugins:
                        self._warn(
                            source,
                            f"plugin name {plugin.name!r} is already provided by "
                            f"{plugins[plugin.name].package!r}; this copy is skipped",
                        )
                    else:
                        plugins[plugin.name] = replace(plugin, package=source.distribution)
        return dict(sorted(plugins.items()))

    def _call_one(self, impl: pluggy.HookImpl, hook_name: str, source: _Source) -> Iterator[Plugin]:
        try:
            returned = impl.function()
        except Exception as exc:  # noqa: BLE001 - third-party code; see _load_entry_points
            self._warn(source, f"{hook_name} raised {type(exc).__name__}: {exc}")
            return
        for item in returned or ():
            if isinstance(item, Plugin):
                yield item
            else:
                self._warn(
                    source, f"{hook_name} returned {item!r}, which is not a hepml_coffea.Plugin"
                )

    @staticmethod
    def _warn(source: _Source, message: str) -> None:
        warnings.warn(
            f"hepml-coffea: plugin package {source.distribution!r} (entry point "
            f"{source.entry_point!r}): {message}",
            PluginLoadWarning,
            stacklevel=3,
        )

    @property
    def kinds(self) -> dict[str, Kind]:
        """Every registered plugin kind, by name, in the order registered."""
        if self._kinds is None:
            self._kinds = self._collect_kinds()
        return self._kinds

    def kind_of(self, plugin: Plugin) -> Kind:
        """The registered kind of ``plugin``, or one line saying that none is."""
        try:
            return self.kinds[plugin.kind]
        except KeyError:
            raise UnknownPluginError(
                f"plugin {plugin.name!r} is of kind {plugin.kind!r}, which no loaded package "
                f"registers (kinds: {describe(self.kinds)}). Install the package that defines "
                f"it, or unset {BLOCK_ENV} / {DISABLE_AUTOLOAD_ENV} if they exclude it."
            ) from None

    @property
    def plugins(self) -> dict[str, Plugin]:
        """Every registered plugin, by name, in alphabetical order."""
        if self._plugins is None:
            self._plugins = self._collect()
        return self._plugins

    def get(self, name: str) -> Plugin:
        """The plugin called ``name``; ``"BASE@METHOD"`` composes two (:mod:`hepml_coffea.composition`).

        Raises :class:`UnknownPluginError` naming close matches and the known plugins, or, when a
        package's entry point of that name failed to import, why it failed.
        """
        try:
            return self.plugins[name]
        except KeyError:
            pass
        from hepml_coffea import composition  # the weighted view imports the pileup physics

        if composition.is_composed(name):  # "pfn@puppi": a tagger on a pileup method's candidates
            base, method = composition.split(name)
            return composition.compose(self.get(base), self.get(method), self.plugins.values())
        if name in self._failed:
            source, why = self._failed[name]
            raise UnknownPluginError(
                f"no hepml-coffea plugin called {name!r}: package {source.distribution!r} provides entry "
                f"point {name!r} but failed to import ({why}). Fix that error (e.g. install what it is "
                "missing) or reinstall the package."
            )
        known = ", ".join(self.plugins) or "none"
        close = difflib.get_close_matches(name, self.plugins, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        if name in self.blocked:
            hint += f" It is blocked by {BLOCK_ENV}."
        elif not self.autoload:
            hint += f" Third-party plugins are disabled by {DISABLE_AUTOLOAD_ENV}."
        raise UnknownPluginError(
            f"no hepml-coffea plugin called {name!r}.{hint} Known plugins: {known}. "
            "Install the package that provides it, or run `hepml-coffea plugins` to list them."
        )

    def shipped_networks(self, kind: str) -> list[str]:
        """Names of hepml-coffea's own plugins of ``kind`` that ship a trained artifact."""
        return [
            plugin.name
            for plugin in self.plugins.values()
            if plugin.kind == kind
            and plugin.artifact is not None
            and plugin.package == BUILTIN_DISTRIBUTION
        ]

    def custom_objects(self) -> dict[str, type]:
        """Custom Keras classes from every kind and package, for loading models in safe mode.

        Called only when a model is loaded: the hooks may import Keras, which listing plugins and
        building a dask graph must not do.
        """
        merged: dict[str, type] = {}
        for kind in self.kinds.values():
            merged.update(kind.custom_objects())
        for objects in self.manager.hook.hepml_register_custom_objects():
            merged.update(objects or {})
        return merged


_default_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, created on first use (and so once per Dask worker)."""
    global _default_registry
    if _default_registry is None:
        _default_registry = Registry()
    return _default_registry
