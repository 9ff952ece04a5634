"""Settings every test run shares (tests/, notebooks/ under nbval, tests_ui/)."""

import os

# Assertions on what screens and commands say are written in Russian, the default language: pin it so a
# machine with an English locale runs the same suite (tests of English set the language themselves).
os.environ["JIVO_OPS_LANG"] = "ru"
