"""A process-wide setting tuned while anyone holds it: the sandbox's GC threshold, the recorder's switch interval."""

from __future__ import annotations

from jivo_ops.held_setting import HeldSetting


def test_the_first_holder_tunes_the_last_puts_the_value_back_unless_somebody_changed_it():
    value = {"now": 5}
    setting = HeldSetting(lambda: value["now"], lambda v: value.update(now=v), lambda v: v * 10)
    setting.hold()
    setting.hold()
    assert value["now"] == 50
    setting.release()
    assert value["now"] == 50  # one holder still there
    setting.release()
    assert value["now"] == 5
    setting.hold()
    value["now"] = 7  # the user's own change meanwhile stays
    setting.release()
    assert value["now"] == 7
