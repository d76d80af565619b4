"""The built-in processors, one module per sensor family.

Each processor keeps a scalar `process` in plain Python and a vectorised `process_batch` in
numpy; `common.CachedProcessor` caches the model each derives from calibration and parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..base import BaseProcessor
from .analog import AnalogProcessor, LinearProcessor
from .common import NERNST_SLOPE_25C_MV, nernst_slope
from .conductivity import EcProcessor, TdsProcessor
from .divider import divider_resistance
from .ds18b20 import Ds18b20Processor
from .level import WaterLevelProcessor
from .light import LightProcessor
from .ntc import NtcProcessor, steinhart_hart_coefficients
from .ph import PhProcessor
from .sht31 import Sht31HumidityProcessor, Sht31TemperatureProcessor
from .soil import SoilMoistureProcessor

BUILTIN_FACTORIES: Final[tuple[Callable[[], BaseProcessor], ...]] = (
    AnalogProcessor,
    LinearProcessor,
    PhProcessor,
    EcProcessor,
    TdsProcessor,
    Ds18b20Processor,
    Sht31TemperatureProcessor,
    Sht31HumidityProcessor,
    NtcProcessor,
    SoilMoistureProcessor,
    LightProcessor,
    WaterLevelProcessor,
)

__all__ = [
    "BUILTIN_FACTORIES",
    "NERNST_SLOPE_25C_MV",
    "AnalogProcessor",
    "Ds18b20Processor",
    "EcProcessor",
    "LightProcessor",
    "LinearProcessor",
    "NtcProcessor",
    "PhProcessor",
    "Sht31HumidityProcessor",
    "Sht31TemperatureProcessor",
    "SoilMoistureProcessor",
    "TdsProcessor",
    "WaterLevelProcessor",
    "divider_resistance",
    "nernst_slope",
    "steinhart_hart_coefficients",
]
