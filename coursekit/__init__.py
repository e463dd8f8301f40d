"""coursekit: the reference code, widgets and exercise checks of the deep-learning workbook."""
from .device import doctor, get_device, set_seed, timed

__version__ = "0.1.0"
__all__ = ["doctor", "get_device", "set_seed", "timed", "__version__"]
