"""What retention reports group customers by, apart from the pandas maths so that the command line can
list the choices without loading it."""

from __future__ import annotations

BY_CHOICES = ("segment", "csm", "cohort", "region", "none")
