import json
import logging

from hub.adapters.logs import JsonFormatter


def test_json_log_lines_carry_time_level_logger_message_and_extra_fields():
    record = logging.LogRecord("hub.connector", logging.WARNING, __file__, 1, "retrying %s", ("batch",), None)
    record.hub_connector = "finance"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "hub.connector" and line["message"] == "retrying batch"
    assert line["connector"] == "finance" and line["time"].endswith("Z")


class _Terminal:
    def isatty(self):
        return True


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere():
    import io

    from hub.adapters.logs import effective_format

    assert effective_format("auto", _Terminal()) == "text"
    assert effective_format("auto", io.StringIO()) == "json"
    assert effective_format("json", _Terminal()) == "json" and effective_format("text", io.StringIO()) == "text"


def test_at_a_terminal_alembic_steps_and_kafka_python_warnings_are_left_out_but_json_keeps_them():
    from hub.adapters.logs import configure

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("kafka").level, logging.getLogger("alembic").level)
    try:
        assert configure("text") == "text"
        selector, migration = logging.getLogger("kafka.net.selector"), logging.getLogger("alembic.runtime.migration")
        assert not selector.isEnabledFor(logging.WARNING) and selector.isEnabledFor(logging.ERROR)
        assert not migration.isEnabledFor(logging.INFO) and logging.getLogger("hub").isEnabledFor(logging.INFO)
        assert configure("json") == "json"
        assert selector.isEnabledFor(logging.WARNING) and migration.isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("kafka").setLevel(saved[2])
        logging.getLogger("alembic").setLevel(saved[3])
def test_every_id_number_in_a_log_line_is_masked_whatever_follows_it():
    from hub.adapters.logs import redact_id_numbers

    idn, with_x = "110105199001011234", "11010519900101123X"
    for text in (f"person {idn}", f"evt-{idn}-1", f"{idn}abc", f"police:{with_x.lower()}photo", f"'{idn}',",
                 f"身份证{idn}张三", f"file {idn}.csv", f"{with_x}Y"):
        masked = redact_id_numbers(text)
        assert "19900101" not in masked and "********" in masked, (text, masked)
    # a longer run of digits is not an ID number
    assert redact_id_numbers("1234567890123456789") == "1234567890123456789"
    assert redact_id_numbers("a1234567890123456789b") == "a1234567890123456789b"
