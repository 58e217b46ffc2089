"""Real-name staffing registry hub (机构编制实名制数据交换中心)."""

__version__ = "0.1.0"
