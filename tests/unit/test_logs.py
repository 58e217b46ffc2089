import json
import logging

from hub.adapters.logs import JsonFormatter


def test_json_log_lines_carry_time_level_logger_message_and_extra_fields():
    record = logging.LogRecord("hub.connector", logging.WARNING, __file__, 1, "retrying %s", ("batch",), None)
    record.hub_connector = "finance"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "hub.connector" and line["message"] == "retrying batch"
    assert line["connector"] == "finance" and line["time"].endswith("Z")
