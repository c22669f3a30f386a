"""OpenVINO and NNCF with their usage telemetry off, decided in code (clinical users must never send any).

Both packages report usage to Google Analytics through the ``openvino_telemetry`` package and, unless a
consent file ``~/intel/openvino_telemetry`` says ``0``, write a client id and counters under ``~/intel``:
OpenVINO's model converter on import and on each conversion, NNCF on import. The documented opt-out
(``opt_in_out --opt_out``) writes that file into the home folder, which we must not touch either. Both
packages fall back to a built-in no-op stub when ``openvino_telemetry`` cannot be imported, so before the
first import we make it unimportable for this process. Where another library imported it first, every
consent check answers "declined" instead (exactly what the opt-out file would say).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_PACKAGE = "openvino_telemetry"


def telemetry_off() -> None:
    """Turn OpenVINO/NNCF usage telemetry off for this process, writing nothing anywhere."""
    module = sys.modules.get(_PACKAGE)
    if _PACKAGE not in sys.modules:
        sys.modules[_PACKAGE] = None  # `import openvino_telemetry` now raises ImportError: the stubs are used
    elif module is not None:
        _decline(module)


def _decline(module: ModuleType) -> None:
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    OptInChecker.check = lambda self, *args, **kwargs: ConsentCheckResult.DECLINED
    instance = getattr(module.Telemetry, "_SingletonMetaClass__single_instance", None)
    if instance is not None:
        instance.consent = False


def _import_quietly(name: str, missing: str) -> ModuleType:
    """Module ``name``, imported with telemetry off; ImportError saying ``missing`` when it is not installed."""
    telemetry_off()
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(missing) from e


def import_openvino() -> ModuleType:
    """``openvino``, imported with telemetry off; ImportError with the install line when it is missing."""
    return _import_quietly("openvino", "runtime='openvino' needs OpenVINO: pip install 'nlu-lite[openvino]' "
                                       "(or pip install openvino nncf).")


def import_nncf() -> ModuleType:
    """``nncf`` (weight compression), imported with telemetry off; ImportError with the install line."""
    return _import_quietly("nncf", "precision='int8' with runtime='openvino' needs NNCF: pip install "
                                   "'nlu-lite[openvino]' (or pip install nncf).")
