"""Nengo parameter types of the networks' arguments (checked, named in errors)."""

import math

import numpy as np
from nengo.exceptions import ValidationError
from nengo.params import BoolParam, NumberParam


class PositiveParam(NumberParam):
    """A finite number > 0 (not a bool)."""

    def __init__(self, name, optional=False):
        super().__init__(name, low=0, low_open=True, optional=optional)

    def coerce(self, instance, num):  # pylint: disable=arguments-renamed
        if num is not None and (isinstance(num, (bool, np.bool_)) or (
                isinstance(num, (int, float, np.number)) and not math.isfinite(num))):
            raise ValidationError(f"must be a finite number > 0, got {num!r}",
                                  attr=self.name, obj=instance)
        return float(super().coerce(instance, num)) if num is not None else None


class FlagParam(BoolParam):
    """True or False (numpy bools accepted)."""

    def coerce(self, instance, value):
        if isinstance(value, np.bool_):
            value = bool(value)
        return super().coerce(instance, value)
