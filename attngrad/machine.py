"""The machine a benchmark or stress run ran on, described once for every report."""
from __future__ import annotations

import importlib.util
import platform


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` reports."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_name(cupy) -> str:
    """The name of CuPy's current CUDA device."""
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def gpu_unavailable() -> str | None:
    """Why the CuPy backend cannot run here, or None if CuPy sees a CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return "gpu: CuPy is not installed (pip install '.[gpu]')"
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - no driver, no device, broken install
        return f"gpu: CuPy cannot use a CUDA device ({type(e).__name__}: {e})"
    return None if count > 0 else "gpu: CuPy found no CUDA device"


def require_gpu(argument: str):
    """The cupy module, or ValueError naming ``argument`` (the option that asked for a GPU)."""
    why = gpu_unavailable()
    if why:
        raise ValueError(f"{argument}: 'gpu' cannot be used here ({why})")
    import cupy

    return cupy
