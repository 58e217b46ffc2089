import json
import logging

from hub.adapters.logs import JsonFormatter


def test_json_log_lines_carry_time_level_logger_message_and_extra_fields():
    record = logging.LogRecord("hub.connector", logging.WARNING, __file__, 1, "retrying %s", ("batch",), None)
    record.hub_connector = "finance"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "hub.connector" and line["message"] == "retrying batch"
    assert line["connector"] == "finance" and line["time"].endswith("Z")


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
