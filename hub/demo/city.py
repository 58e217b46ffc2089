"""A synthetic, Hangzhou-like city written as the registry's bulk-import CSVs (contract section 5).

``generate_city(out_dir, persons)`` writes ``units.csv``, ``quotas.csv``, ``leader_quotas.csv``,
``persons.csv`` and ``postings.csv`` for a city of the given size. Everything is drawn from one
``random.Random(seed)``, so the same arguments give byte-identical files.

The city:

* region 330100 (市本级) and its 13 districts/counties, each with party organs, government organs,
  mass organisations and public institutions (hospitals, schools, service centres) at DISTRICT
  level, and 街道/乡镇 units (党工委/党委, 办事处/人民政府, 卫生院, 便民服务中心) at TOWNSHIP
  level whose parent is a district unit. Small cities keep a core of units (every kind, level,
  funding form and district) plus a size-weighted sample of the rest, about one unit per 20 persons.
* unit codes are GB 32100 codes: ``1`` (机构编制部门) + ``1`` 机关 / ``2`` 事业单位 / ``3`` 群团,
  the unit's region code, a 9-character GB 11714 organisation code and the check character.
* ID numbers carry the region code in force when the person was born (e.g. 330183 富阳市 for
  people from today's 富阳区, 330103 下城区 for part of today's 拱墅区), or one from elsewhere.
* approved quota is about 1.08 × persons; postings fit their quota and leader ranks fit the leader
  quota, except for the planted anomalies listed in ``CitySummary.planted``.
* regular staff are kept safely below statutory retirement (hub.domain.retirement) on
  ``REFERENCE_DATE``: men younger than 60, women younger than 55, women in 工勤 posts younger than
  50. The planted ``retirement_due`` persons are men born 1961-11 … 1963-04 (63.5–65 years old).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from hub.adapters import csv_safe
from hub.domain.identifiers import USCC_ALPHABET, make_id_number, make_unit_code
from hub.domain.vocabulary import Education, Funding, LeaderRank, QuotaCategory, UnitKind, UnitLevel

REFERENCE_DATE = date(2026, 11, 1)
CITY_REGION = "330100"
FREE_SHARE = 0.08  # approved establishment ≈ (1 + FREE_SHARE) × persons
PERSONS_PER_UNIT = 20  # small cities: about one unit per this many persons (never below the core)

UNITS_HEADER = ("code", "name", "kind", "level", "region_code", "parent_code", "funding",
                "grade", "civil_service_managed", "classification", "dispatched")
COUNTY_REGIONS = ("330122", "330127", "330182")  # 桐庐县, 淳安县, 建德市: county-level, the rest 区 of a 副省级 city
QUOTAS_HEADER = ("unit_code", "category", "approved")
LEADER_QUOTAS_HEADER = ("unit_code", "rank", "approved")
PERSONS_HEADER = ("id_number", "name", "gender", "birth_date", "education")
POSTINGS_HEADER = ("id_number", "unit_code", "category", "leader_rank", "start_date")

PLANTED_OVER_QUOTA = "over_quota_units"
PLANTED_LEADERSHIP = "leadership_over_quota_units"
PLANTED_RETIREMENT = "retirement_due"


@dataclass
class CitySummary:
    """Row counts of the written files and the anomalies planted in them (name → subjects)."""

    units: int = 0
    quotas: int = 0  # rows of quotas.csv
    leader_quotas: int = 0  # rows of leader_quotas.csv
    persons: int = 0
    postings: int = 0
    approved: int = 0  # sum of quotas.csv approved
    planted: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The city's geography
# --------------------------------------------------------------------------------------------

# (region code, name, relative size, 街道/乡镇 — the first one is the seat)
_DISTRICTS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("330102", "上城区", 1.2, ("湖滨街道", "清波街道", "小营街道", "望江街道", "南星街道", "紫阳街道", "凯旋街道",
                               "采荷街道", "闸弄口街道", "四季青街道", "笕桥街道", "丁兰街道", "九堡街道", "彭埠街道")),
    ("330105", "拱墅区", 1.2, ("米市巷街道", "湖墅街道", "小河街道", "和睦街道", "拱宸桥街道", "大关街道", "上塘街道",
                               "祥符街道", "康桥街道", "半山街道", "武林街道", "天水街道", "朝晖街道", "潮鸣街道",
                               "长庆街道", "石桥街道", "东新街道", "文晖街道")),
    ("330106", "西湖区", 1.1, ("北山街道", "西溪街道", "灵隐街道", "翠苑街道", "文新街道", "古荡街道", "西湖街道",
                               "留下街道", "转塘街道", "蒋村街道", "三墩镇", "双浦镇")),
    ("330108", "滨江区", 0.8, ("西兴街道", "长河街道", "浦沿街道")),
    ("330109", "萧山区", 1.4, ("城厢街道", "北干街道", "蜀山街道", "新塘街道", "宁围街道", "新街街道", "闻堰街道",
                               "盈丰街道", "靖江街道", "南阳街道", "瓜沥镇", "临浦镇", "义桥镇", "所前镇", "衙前镇",
                               "益农镇", "党湾镇", "楼塔镇", "河上镇", "戴村镇", "浦阳镇", "进化镇")),
    ("330110", "余杭区", 1.1, ("余杭街道", "五常街道", "闲林街道", "仓前街道", "仁和街道", "良渚街道", "中泰街道",
                               "瓶窑镇", "径山镇", "黄湖镇", "鸬鸟镇", "百丈镇")),
    ("330111", "富阳区", 0.9, ("富春街道", "东洲街道", "春江街道", "鹿山街道", "银湖街道", "万市镇", "洞桥镇", "胥口镇",
                               "新登镇", "渌渚镇", "永昌镇", "场口镇", "常安镇", "里山镇", "龙门镇", "灵桥镇", "大源镇",
                               "常绿镇", "湖源乡", "上官乡", "环山乡", "新桐乡", "春建乡")),
    ("330112", "临安区", 0.8, ("锦城街道", "锦北街道", "锦南街道", "玲珑街道", "青山湖街道", "太湖源镇", "於潜镇",
                               "天目山镇", "太阳镇", "潜川镇", "昌化镇", "龙岗镇", "河桥镇", "湍口镇", "清凉峰镇",
                               "板桥镇", "高虹镇", "岛石镇")),
    ("330113", "临平区", 0.8, ("临平街道", "东湖街道", "南苑街道", "星桥街道", "运河街道", "乔司街道", "崇贤街道",
                               "塘栖镇")),
    ("330114", "钱塘区", 0.7, ("下沙街道", "白杨街道", "河庄街道", "义蓬街道", "新湾街道", "临江街道", "前进街道")),
    ("330122", "桐庐县", 0.6, ("桐君街道", "旧县街道", "城南街道", "凤川街道", "富春江镇", "横村镇", "分水镇",
                               "瑶琳镇", "百江镇", "江南镇", "莪山畲族乡", "钟山乡", "新合乡", "合村乡")),
    ("330127", "淳安县", 0.7, ("千岛湖镇", "文昌镇", "石林镇", "临岐镇", "威坪镇", "姜家镇", "梓桐镇", "汾口镇",
                               "中洲镇", "大墅镇", "枫树岭镇", "里商乡", "金峰乡", "富文乡", "左口乡", "屏门乡",
                               "瑶山乡", "王阜乡", "宋村乡", "鸠坑乡", "浪川乡", "界首乡", "安阳乡")),
    ("330182", "建德市", 0.6, ("新安江街道", "洋溪街道", "更楼街道", "莲花镇", "乾潭镇", "梅城镇", "杨村桥镇",
                               "下涯镇", "大洋镇", "三都镇", "寿昌镇", "航头镇", "大慈岩镇", "大同镇", "李家镇",
                               "钦堂乡")),
)
DISTRICT_CODES: tuple[str, ...] = tuple(d[0] for d in _DISTRICTS)
_URBAN = {"330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113", "330114"}


def division_names() -> dict[str, str]:
    """The city's division codes (GB/T 2260) and names: 市本级 and its districts and counties."""
    return {CITY_REGION: "市本级", **{code: name for code, name, *_ in _DISTRICTS}}


def _birth_region(home: str, birth_year: int, r: float) -> str:
    """The region code an ID number issued at birth carries for someone from today's ``home``.

    GB/T 2260 codes change with boundaries: 2021 (上城/拱墅/临平/钱塘), 2017 临安, 2014 富阳,
    2001 萧山/余杭, 1996 滨江, 1994/1996/1992 县→市. ID numbers keep the old code.
    """
    if home == "330102":  # 上城区 absorbed most of 江干区
        return "330104" if r < 0.45 else home
    if home == "330105":  # 拱墅区 absorbed 下城区
        return "330103" if r < 0.5 else home
    if home == "330108":  # 滨江区 since 1996, before: 西湖区
        return "330106" if birth_year < 1997 else home
    if home == "330109" or (home == "330114" and r >= 0.5):  # 萧山: 县 330121, 市 330181, 区 since 2001
        return "330121" if birth_year < 1988 else "330181" if birth_year < 2001 else "330109"
    if home == "330114":  # 钱塘区 (2021) from 江干区 (下沙, 白杨) and 萧山区
        return "330104"
    if home in ("330110", "330113"):  # 余杭: 县 330125, 市 330184, 区 2001; 临平区 split off 2021
        return "330125" if birth_year < 1994 else "330184" if birth_year < 2001 else "330110"
    if home == "330111":  # 富阳: 县 330123, 市 330183, 区 2014
        return "330123" if birth_year < 1994 else "330183" if birth_year < 2015 else home
    if home == "330112":  # 临安: 县 330124, 市 330185, 区 2017
        return "330124" if birth_year < 1996 else "330185" if birth_year < 2017 else home
    if home == "330182":  # 建德: 县 330126, 市 1992
        return "330126" if birth_year < 1992 else home
    return home


# Where staff not from the city itself were born (weights: mostly elsewhere in Zhejiang).
_ELSEWHERE: tuple[tuple[str, float], ...] = (
    ("330203", 3), ("330205", 1.5), ("330302", 3), ("330402", 2.5), ("330502", 2.5), ("330602", 3),
    ("330681", 2.5), ("330702", 2), ("330781", 1.5), ("330782", 2), ("330802", 2), ("330902", 1),
    ("331002", 2), ("331102", 2), ("340104", 1.5), ("341002", 1), ("360102", 1.2), ("320102", 1),
    ("310115", 0.8), ("410105", 1), ("420106", 1), ("430102", 0.8), ("370102", 0.8), ("350102", 0.8),
    ("510104", 0.8), ("110105", 0.5),
)

# --------------------------------------------------------------------------------------------
# Unit catalogue. Weights are approximate headcounts in a 200,000-person city.
# Profiles: "A" administrative organ, "P" police/court/procuratorate (政法专项编制),
# "J" justice bureau (mixed), "I" public institution.
# --------------------------------------------------------------------------------------------

_P, _G, _M, _I = UnitKind.PARTY_ORGAN, UnitKind.GOVERNMENT_ORGAN, UnitKind.MASS_ORGANIZATION, UnitKind.PUBLIC_INSTITUTION
_PC, _CP, _SV = UnitKind.PEOPLES_CONGRESS, UnitKind.CPPCC, UnitKind.SUPERVISORY_ORGAN
_CT, _PR, _DP = UnitKind.COURT, UnitKind.PROCURATORATE, UnitKind.DEMOCRATIC_PARTY
_FULL, _PART, _SELF = Funding.FULL, Funding.PARTIAL, Funding.SELF

_CITY_ORGANS = (
    ("中共杭州市委办公厅", _P, 120, "A"),
    ("杭州市纪委市监委机关", _SV, 220, "A"),
    ("中共杭州市委组织部", _P, 110, "A"),
    ("中共杭州市委宣传部", _P, 80, "A"),
    ("中共杭州市委统一战线工作部", _P, 70, "A"),
    ("中共杭州市委政法委员会", _P, 60, "A"),
    ("中共杭州市委政策研究室", _P, 35, "A"),
    ("中共杭州市委机构编制委员会办公室", _P, 30, "A"),
    ("中共杭州市委网络安全和信息化委员会办公室", _P, 30, "A"),
    ("中共杭州市委老干部局", _P, 30, "A"),
    ("中共杭州市直属机关工作委员会", _P, 30, "A"),
    ("杭州市人大常委会办公厅", _PC, 70, "A"),
    ("政协杭州市委员会办公厅", _CP, 55, "A"),
    ("民革杭州市委会机关", _DP, 15, "A"),
    ("杭州市人民政府办公厅", _G, 130, "A"),
    ("杭州市发展和改革委员会", _G, 120, "A"),
    ("杭州市经济和信息化局", _G, 90, "A"),
    ("杭州市教育局", _G, 85, "A"),
    ("杭州市科学技术局", _G, 60, "A"),
    ("杭州市民族宗教事务局", _G, 25, "A"),
    ("杭州市公安局", _G, 6000, "P"),
    ("杭州市民政局", _G, 60, "A"),
    ("杭州市司法局", _G, 110, "J"),
    ("杭州市财政局", _G, 120, "A"),
    ("杭州市人力资源和社会保障局", _G, 100, "A"),
    ("杭州市规划和自然资源局", _G, 160, "A"),
    ("杭州市生态环境局", _G, 110, "A"),
    ("杭州市城乡建设委员会", _G, 100, "A"),
    ("杭州市住房保障和房产管理局", _G, 70, "A"),
    ("杭州市交通运输局", _G, 90, "A"),
    ("杭州市林业水利局", _G, 70, "A"),
    ("杭州市农业农村局", _G, 80, "A"),
    ("杭州市商务局", _G, 70, "A"),
    ("杭州市文化广电旅游局", _G, 80, "A"),
    ("杭州市卫生健康委员会", _G, 80, "A"),
    ("杭州市退役军人事务局", _G, 35, "A"),
    ("杭州市应急管理局", _G, 60, "A"),
    ("杭州市审计局", _G, 70, "A"),
    ("杭州市人民政府国有资产监督管理委员会", _G, 45, "A"),
    ("杭州市市场监督管理局", _G, 480, "A"),
    ("杭州市体育局", _G, 30, "A"),
    ("杭州市统计局", _G, 45, "A"),
    ("杭州市医疗保障局", _G, 35, "A"),
    ("杭州市城市管理局", _G, 110, "A"),
    ("杭州市数据资源管理局", _G, 30, "A"),
    ("杭州市人民政府外事办公室", _G, 30, "A"),
    ("杭州市信访局", _G, 35, "A"),
    ("杭州市园林文物局", _G, 60, "A"),
    ("杭州市机关事务管理局", _G, 45, "A"),
    ("杭州市中级人民法院", _CT, 420, "P"),
    ("杭州市人民检察院", _PR, 260, "P"),
    ("杭州市总工会", _M, 50, "A"),
    ("共青团杭州市委员会", _M, 30, "A"),
    ("杭州市妇女联合会", _M, 30, "A"),
    ("杭州市科学技术协会", _M, 30, "A"),
    ("杭州市文学艺术界联合会", _M, 25, "A"),
    ("杭州市社会科学界联合会", _M, 20, "A"),
    ("杭州市归国华侨联合会", _M, 15, "A"),
    ("杭州市残疾人联合会", _M, 30, "A"),
    ("杭州市工商业联合会", _M, 30, "A"),
    ("杭州市红十字会", _M, 20, "A"),
)

# (name, parent, funding, weight, staff type: "med" / "edu" / "gen")
_CITY_INSTITUTIONS = (
    ("中共杭州市委党校", "中共杭州市委组织部", _FULL, 130, "edu"),
    ("杭州市档案馆", "中共杭州市委办公厅", _FULL, 60, "gen"),
    ("杭州市公共资源交易中心", "杭州市人民政府办公厅", _FULL, 60, "gen"),
    ("杭州市机关服务中心", "杭州市机关事务管理局", _SELF, 90, "gen"),
    ("杭州市第一人民医院", "杭州市卫生健康委员会", _PART, 2200, "med"),
    ("杭州市中医院", "杭州市卫生健康委员会", _PART, 1200, "med"),
    ("杭州市第三人民医院", "杭州市卫生健康委员会", _PART, 800, "med"),
    ("杭州市红十字会医院", "杭州市卫生健康委员会", _PART, 900, "med"),
    ("杭州市儿童医院", "杭州市卫生健康委员会", _PART, 600, "med"),
    ("杭州市妇产科医院", "杭州市卫生健康委员会", _PART, 550, "med"),
    ("杭州市西溪医院", "杭州市卫生健康委员会", _PART, 650, "med"),
    ("杭州市第七人民医院", "杭州市卫生健康委员会", _PART, 500, "med"),
    ("杭州市疾病预防控制中心", "杭州市卫生健康委员会", _FULL, 260, "med"),
    ("杭州市急救中心", "杭州市卫生健康委员会", _FULL, 220, "med"),
    ("杭州市血液中心", "杭州市卫生健康委员会", _PART, 150, "med"),
    ("杭州师范大学", None, _PART, 2000, "edu"),
    ("杭州职业技术学院", "杭州市教育局", _PART, 600, "edu"),
    ("杭州科技职业技术学院", "杭州市教育局", _PART, 500, "edu"),
    ("杭州第二中学", "杭州市教育局", _FULL, 260, "edu"),
    ("杭州高级中学", "杭州市教育局", _FULL, 240, "edu"),
    ("杭州学军中学", "杭州市教育局", _FULL, 250, "edu"),
    ("杭州第十四中学", "杭州市教育局", _FULL, 220, "edu"),
    ("杭州第四中学", "杭州市教育局", _FULL, 200, "edu"),
    ("杭州第七中学", "杭州市教育局", _FULL, 160, "edu"),
    ("杭州市教育科学研究院", "杭州市教育局", _FULL, 80, "edu"),
    ("杭州市教育考试院", "杭州市教育局", _FULL, 40, "gen"),
    ("杭州市人才服务中心", "杭州市人力资源和社会保障局", _FULL, 60, "gen"),
    ("杭州市就业管理服务中心", "杭州市人力资源和社会保障局", _FULL, 70, "gen"),
    ("杭州市社会保险管理服务中心", "杭州市人力资源和社会保障局", _FULL, 150, "gen"),
    ("杭州市财政综合服务中心", "杭州市财政局", _FULL, 50, "gen"),
    ("杭州市规划设计研究院", "杭州市规划和自然资源局", _SELF, 300, "gen"),
    ("杭州市勘测设计研究院", "杭州市规划和自然资源局", _SELF, 260, "gen"),
    ("杭州市城建设计研究院", "杭州市城乡建设委员会", _SELF, 200, "gen"),
    ("杭州市房产测绘中心", "杭州市住房保障和房产管理局", _SELF, 80, "gen"),
    ("杭州市生态环境监测中心", "杭州市生态环境局", _FULL, 120, "gen"),
    ("杭州市运输管理服务中心", "杭州市交通运输局", _FULL, 150, "gen"),
    ("杭州市水文水资源监测中心", "杭州市林业水利局", _FULL, 60, "gen"),
    ("杭州市农业科学研究院", "杭州市农业农村局", _FULL, 180, "gen"),
    ("杭州图书馆", "杭州市文化广电旅游局", _FULL, 160, "gen"),
    ("杭州博物馆", "杭州市文化广电旅游局", _FULL, 80, "gen"),
    ("杭州市质量技术监督检测院", "杭州市市场监督管理局", _PART, 220, "gen"),
    ("杭州市食品药品检验研究院", "杭州市市场监督管理局", _FULL, 150, "gen"),
    ("杭州市市政设施管理中心", "杭州市城市管理局", _PART, 200, "gen"),
    ("杭州市园林绿化发展中心", "杭州市园林文物局", _PART, 180, "gen"),
    ("杭州市应急指挥保障中心", "杭州市应急管理局", _FULL, 50, "gen"),
    ("杭州市数据资源开发中心", "杭州市数据资源管理局", _FULL, 60, "gen"),
)

# District organs: ({P} = district name, {S} = its last character 区/县/市)
_DISTRICT_ORGANS = (
    ("中共{P}委办公室", _P, 40, "A"),
    ("{P}纪委{S}监委机关", _P, 60, "A"),
    ("中共{P}委组织部", _P, 35, "A"),
    ("中共{P}委宣传部", _P, 25, "A"),
    ("中共{P}委统战部", _P, 20, "A"),
    ("中共{P}委政法委员会", _P, 20, "A"),
    ("中共{P}委机构编制委员会办公室", _P, 10, "A"),
    ("{P}人大常委会办公室", _PC, 25, "A"),
    ("政协{P}委员会办公室", _CP, 20, "A"),
    ("{P}人民政府办公室", _G, 45, "A"),
    ("{P}发展和改革局", _G, 35, "A"),
    ("{P}教育局", _G, 40, "A"),
    ("{P}科学技术局", _G, 15, "A"),
    ("@PSB", _G, 800, "P"),
    ("{P}民政局", _G, 25, "A"),
    ("{P}司法局", _G, 60, "J"),
    ("{P}财政局", _G, 50, "A"),
    ("{P}人力资源和社会保障局", _G, 40, "A"),
    ("{P}住房和城乡建设局", _G, 45, "A"),
    ("{P}交通运输局", _G, 30, "A"),
    ("{P}农业农村局", _G, 40, "A"),
    ("{P}卫生健康局", _G, 35, "A"),
    ("{P}退役军人事务局", _G, 15, "A"),
    ("{P}应急管理局", _G, 25, "A"),
    ("{P}审计局", _G, 25, "A"),
    ("{P}统计局", _G, 15, "A"),
    ("{P}医疗保障局", _G, 15, "A"),
    ("{P}文化和广电旅游体育局", _G, 30, "A"),
    ("{P}综合行政执法局", _G, 120, "A"),
    ("{P}市场监督管理局", _G, 200, "A"),
    ("{P}人民法院", _CT, 200, "P"),
    ("{P}人民检察院", _PR, 120, "P"),
    ("{P}总工会", _M, 15, "A"),
    ("共青团{P}委员会", _M, 8, "A"),
    ("{P}妇女联合会", _M, 8, "A"),
    ("{P}残疾人联合会", _M, 10, "A"),
    ("{P}科学技术协会", _M, 8, "A"),
    ("{P}工商业联合会", _M, 8, "A"),
)

_DISTRICT_INSTITUTIONS = (
    ("中共{P}委党校", "中共{P}委组织部", _FULL, 30, "edu"),
    ("{P}档案馆", "中共{P}委办公室", _FULL, 20, "gen"),
    ("{P}融媒体中心", "中共{P}委宣传部", _PART, 90, "gen"),
    ("{P}人民医院", "{P}卫生健康局", _PART, 900, "med"),
    ("{P}中医院", "{P}卫生健康局", _PART, 450, "med"),
    ("{P}妇幼保健院", "{P}卫生健康局", _PART, 200, "med"),
    ("{P}疾病预防控制中心", "{P}卫生健康局", _FULL, 110, "med"),
    ("{P}就业管理服务中心", "{P}人力资源和社会保障局", _FULL, 30, "gen"),
    ("{P}农业技术推广中心", "{P}农业农村局", _FULL, 40, "gen"),
    ("{P}建筑设计院", "{P}住房和城乡建设局", _SELF, 60, "gen"),
    ("{P}机关后勤服务中心", "{P}人民政府办公室", _SELF, 30, "gen"),
    ("{P}高级中学", "{P}教育局", _FULL, 180, "edu"),
    ("{P}职业高级中学", "{P}教育局", _FULL, 150, "edu"),
    ("{P}实验小学", "{P}教育局", _FULL, 120, "edu"),
    ("{P}实验中学", "{P}教育局", _FULL, 100, "edu"),
)

# Units that every city has, whatever its size: all kinds, levels and funding forms.
_CITY_CORE = ("中共杭州市委办公厅", "杭州市人民政府办公厅", "杭州市公安局", "杭州市总工会",
              "杭州市第一人民医院", "杭州市规划设计研究院", "杭州市人大常委会办公厅", "政协杭州市委员会办公厅",
              "杭州市纪委市监委机关", "杭州市中级人民法院", "杭州市人民检察院", "民革杭州市委会机关")
_DISTRICT_CORE = ("中共{P}委办公室", "{P}人民政府办公室")

_LEVEL_RANKS = {
    UnitLevel.CITY: (LeaderRank.DIVISION_CHIEF, LeaderRank.DEPUTY_DIVISION_CHIEF,
                     LeaderRank.SECTION_CHIEF, LeaderRank.DEPUTY_SECTION_CHIEF),
    UnitLevel.DISTRICT: (LeaderRank.SECTION_CHIEF, LeaderRank.DEPUTY_SECTION_CHIEF),
    UnitLevel.TOWNSHIP: (LeaderRank.SECTION_CHIEF, LeaderRank.DEPUTY_SECTION_CHIEF),
}
# Rank shares of leaders after the unit head (who holds the first rank of the level).
_LEVEL_RANK_WEIGHTS = {
    UnitLevel.CITY: (0.10, 0.30, 0.35, 0.25),
    UnitLevel.DISTRICT: (0.30, 0.70),
    UnitLevel.TOWNSHIP: (0.30, 0.70),
}

_ADM, _PL, _PI, _WRK = (QuotaCategory.ADMINISTRATIVE, QuotaCategory.POLITICAL_LEGAL,
                        QuotaCategory.PUBLIC_INSTITUTION, QuotaCategory.WORKER)
# Quota rows each profile always gets (WORKER only when someone holds it or the unit is large).
_PROFILE_CATEGORIES = {"A": (_ADM,), "P": (_PL, _ADM), "J": (_ADM, _PL), "I": (_PI,)}
# Categories leaders are drawn from, in order.
_LEADER_CATEGORIES = {"A": (_ADM,), "P": (_PL, _ADM), "J": (_ADM, _PL), "I": ()}


class _Unit:
    __slots__ = ("name", "kind", "level", "region", "parent", "funding", "weight", "profile",
                 "staff", "requires", "core", "code", "counts", "approved", "leaders", "lead_approved")

    def __init__(self, name, kind, level, region, funding, weight, profile, staff, parent=None,
                 requires=(), core=False):
        self.name = name
        self.kind = kind
        self.level = level
        self.region = region
        self.funding = funding
        self.weight = float(weight)
        self.profile = profile
        self.staff = staff  # "organ" / "police" / "med" / "edu" / "gen"
        self.parent = parent
        self.requires = requires
        self.core = core
        self.code = ""
        self.counts: dict[QuotaCategory, int] = {}
        self.approved: dict[QuotaCategory, int] = {}
        self.leaders: dict[LeaderRank, int] = {}
        self.lead_approved: dict[LeaderRank, int] = {}


def _organ_staff(profile: str) -> str:
    return "police" if profile == "P" else "organ"


def _catalogue() -> list[_Unit]:
    """Every unit the full city has, parents before children."""
    units: list[_Unit] = []
    CITY, DIST, TOWN = UnitLevel.CITY, UnitLevel.DISTRICT, UnitLevel.TOWNSHIP
    for name, kind, w, prof in _CITY_ORGANS:
        units.append(_Unit(name, kind, CITY, CITY_REGION, _FULL, w, prof, _organ_staff(prof),
                           core=name in _CITY_CORE))
    for name, parent, funding, w, staff in _CITY_INSTITUTIONS:
        units.append(_Unit(name, _I, CITY, CITY_REGION, funding, w, "I", staff, parent=parent,
                           core=name in _CITY_CORE))
    for region, dname, size, towns in _DISTRICTS:
        fmt = {"P": dname, "S": dname[-1]}
        core = {c.format(**fmt) for c in _DISTRICT_CORE}
        for pattern, kind, w, prof in _DISTRICT_ORGANS:
            if pattern == "@PSB":
                name = f"杭州市公安局{dname[:-1]}分局" if region in _URBAN else f"{dname}公安局"
            else:
                name = pattern.format(**fmt)
            units.append(_Unit(name, kind, DIST, region, _FULL, w * size, prof, _organ_staff(prof),
                               core=name in core))
        for pattern, parent, funding, w, staff in _DISTRICT_INSTITUTIONS:
            units.append(_Unit(pattern.format(**fmt), _I, DIST, region, funding, w * size, "I", staff,
                               parent=parent.format(**fmt)))
        education = f"{dname}教育局"
        for town in towns:  # schools: district units run by the education bureau
            street = town.endswith("街道")
            stem = town[:-2] if street else town
            if street:
                schools = ((f"{dname}{stem}小学", 80), (f"{dname}{stem}中学", 70), (f"{dname}{stem}幼儿园", 25))
            else:
                schools = ((f"{dname}{town}中心小学", 50), (f"{dname}{town}初级中学", 45),
                           (f"{dname}{town}中心幼儿园", 20))
            for sname, w in schools:
                units.append(_Unit(sname, _I, DIST, region, _FULL, w, "I", "edu", parent=education))
        for i, town in enumerate(towns):
            street = town.endswith("街道")
            small = town.endswith("乡")
            gov = f"{dname}{town}办事处" if street else f"{dname}{town}人民政府"
            party = f"中共{dname}{town}工作委员会" if street else f"中共{dname}{town}委员会"
            health = f"{dname}{town}社区卫生服务中心" if street else f"{dname}{town}卫生院"
            service = f"{dname}{town}便民服务中心"
            units.append(_Unit(gov, _G, TOWN, region, _FULL, 30 if small else 60 if street else 50, "A",
                               "organ", parent=f"{dname}人民政府办公室", core=i == 0))
            units.append(_Unit(party, _P, TOWN, region, _FULL, 8, "A", "organ",
                               parent=f"中共{dname}委办公室", requires=(gov,)))
            units.append(_Unit(health, _I, TOWN, region, _PART, 25 if small else 80 if street else 50, "I",
                               "med", parent=f"{dname}卫生健康局", requires=(gov,)))
            units.append(_Unit(service, _I, TOWN, region, _FULL, 12, "I", "gen",
                               parent=f"{dname}人民政府办公室", requires=(gov,)))
    return units


def _select(catalogue: list[_Unit], persons: int, rng: random.Random) -> list[_Unit]:
    """The core plus a size-weighted sample of the rest, about one unit per PERSONS_PER_UNIT persons.

    A small city is a miniature of the full one: units are sampled, and later sized, by
    ``weight ** alpha`` with alpha from 0.5 (a few dozen units) to 1 (the whole catalogue), so big
    units (police, hospitals) are likely present without swallowing the headcount.
    """
    by_name = {u.name: u for u in catalogue}
    chosen: set[str] = set()
    count = 0

    def take(u: _Unit) -> None:
        nonlocal count
        if u.name in chosen:
            return
        if u.parent:
            take(by_name[u.parent])
        for r in u.requires:
            take(by_name[r])
        chosen.add(u.name)
        count += 1

    for u in catalogue:
        if u.core:
            take(u)
    target = max(count, persons // PERSONS_PER_UNIT)
    if target >= len(catalogue):
        return list(catalogue)
    alpha = 0.5 + 0.5 * target / len(catalogue)
    for u in catalogue:
        u.weight **= alpha
    # Weighted sampling without replacement (Efraimidis–Spirakis): key = U^(1/w), largest first.
    keyed = sorted(((-(rng.random() ** (1.0 / u.weight)), i) for i, u in enumerate(catalogue) if not u.core))
    for _, i in keyed:
        if count >= target:
            break
        take(catalogue[i])
    return [u for u in catalogue if u.name in chosen]


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_PREFIX = {_P: "00", _G: "00", _PC: "00", _CP: "00", _SV: "00", _CT: "00", _PR: "00", _DP: "00", _M: "50", _I: "47"}
_USCC_CATEGORY = {_P: "11", _G: "11", _PC: "11", _CP: "11", _SV: "11", _CT: "11", _PR: "11", _DP: "11", _M: "13",
                  _I: "12"}  # 1 = 机构编制; 1 机关, 2 事业单位, 3 群团


def _org_code(body8: str) -> str:
    """A GB 11714 organisation code: 8 digits and its check character."""
    c = 11 - sum(int(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS)) % 11
    return body8 + ("X" if c == 10 else "0" if c == 11 else str(c))


def _assign_codes(units: list[_Unit], rng: random.Random) -> None:
    used: set[str] = set()
    for u in units:
        while True:
            org = _org_code(_ORG_PREFIX[u.kind] + f"{rng.randrange(1_000_000):06d}")
            if org not in used:
                break
        used.add(org)
        assert all(c in USCC_ALPHABET for c in org)
        u.code = make_unit_code(_USCC_CATEGORY[u.kind] + u.region + org)


# --------------------------------------------------------------------------------------------
# Sizing
# --------------------------------------------------------------------------------------------


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method)."""
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    quotas = [total * w / s for w in weights]
    out = [int(q) for q in quotas]
    short = total - sum(out)
    for i in sorted(range(len(weights)), key=lambda i: (out[i] - quotas[i], i))[:short]:
        out[i] += 1
    return out


def unit_parameters(u) -> tuple[str, str, str, str]:
    """机构规格, 参公, 事业单位分类 and 派出机构 of a demo unit, as a 副省级 city has them: city departments 副厅(局)级
    (正局级), district departments 正处级 and their 街道/乡镇 副处级, county-level ones (县, 县级市) 正科级 down to their
    乡镇. Hospitals and health centres are 公益二类, service and exchange centres (便民服务中心, 管理服务中心 …) 承担行政职能 and 参公, other public institutions 公益一类; 街道办事处 are
    dispatched bodies. Drawn from nothing random: the other files stay as they were."""
    if u.level is UnitLevel.CITY:
        grade = "DEPUTY_BUREAU"
    elif u.region in COUNTY_REGIONS:
        grade = "SECTION"
    else:
        grade = "DIVISION" if u.level is UnitLevel.DISTRICT else "DEPUTY_DIVISION"
    managed, classification, dispatched = "false", "", ""
    if u.kind is UnitKind.PUBLIC_INSTITUTION:
        if "医院" in u.name or "卫生" in u.name:
            classification = "PUBLIC_WELFARE_2"
        elif any(w in u.name for w in ("便民服务中心", "管理服务中心", "交易中心", "考试院")):
            classification, managed = "ADMINISTRATIVE_FUNCTIONS", "true"
        else:
            classification = "PUBLIC_WELFARE_1"
    elif u.name.endswith("办事处"):
        dispatched = "SUBDISTRICT_OFFICE"
    return grade, managed, classification, dispatched


def _split_categories(u: _Unit, n: int, rng: random.Random) -> None:
    worker = round(n * rng.uniform(0.03, 0.08)) if n >= 8 else 0
    rest = n - worker
    counts: dict[QuotaCategory, int] = {}
    if u.profile == "A":
        counts[_ADM] = rest
    elif u.profile == "P":
        adm = round(rest * rng.uniform(0.02, 0.06)) if rest >= 15 else 0
        counts[_PL], counts[_ADM] = rest - adm, adm
    elif u.profile == "J":
        adm = round(rest * rng.uniform(0.30, 0.45))
        counts[_ADM], counts[_PL] = adm, rest - adm
    else:
        counts[_PI] = rest
    if worker or u.weight >= 40:
        counts[_WRK] = worker
    u.counts = counts


def _plan_leaders(u: _Unit, rng: random.Random) -> None:
    """Leader postings (about 10% of an organ's cadres) and leader quota for organs."""
    if u.kind == _I:
        return
    ranks = _LEVEL_RANKS[u.level]
    pool = sum(u.counts.get(c, 0) for c in _LEADER_CATEGORIES[u.profile])
    n = round(pool * rng.uniform(0.08, 0.12))
    if pool >= 3:
        n = max(1, n)
    posted = {r: 0 for r in ranks}
    if n:
        posted[ranks[0]] = 1  # the unit head
        cum = []
        acc = 0.0
        for w in _LEVEL_RANK_WEIGHTS[u.level]:
            acc += w
            cum.append(acc)
        for _ in range(n - 1):
            posted[ranks[bisect.bisect_right(cum, rng.random() * acc)]] += 1
    u.leaders = posted
    approved = {}
    for r in ranks:
        a = posted[r] + (1 if rng.random() < 0.25 else 0)  # a vacant position now and then
        if r is ranks[0]:
            a = max(a, 1)
        if a:
            approved[r] = a
    u.lead_approved = approved


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------

_SURNAMES = (
    ("王", 7.5), ("陈", 7.0), ("张", 5.0), ("李", 4.5), ("徐", 3.0), ("吴", 3.0), ("周", 2.8), ("刘", 2.5),
    ("杨", 2.2), ("朱", 2.0), ("金", 1.8), ("沈", 1.8), ("胡", 1.8), ("黄", 1.6), ("方", 1.5), ("孙", 1.3),
    ("叶", 1.3), ("蒋", 1.3), ("何", 1.3), ("郑", 1.2), ("赵", 1.2), ("林", 1.2), ("钱", 1.0), ("俞", 1.0),
    ("章", 1.0), ("潘", 1.0), ("汪", 1.0), ("许", 0.9), ("余", 0.9), ("陆", 0.9), ("高", 0.9), ("施", 0.8),
    ("邵", 0.8), ("姚", 0.8), ("马", 0.8), ("程", 0.7), ("卢", 0.7), ("傅", 0.7), ("应", 0.6), ("楼", 0.6),
    ("毛", 0.6), ("夏", 0.6), ("丁", 0.6), ("冯", 0.6), ("吕", 0.6), ("唐", 0.6), ("宋", 0.6), ("童", 0.5),
    ("洪", 0.5), ("严", 0.5), ("戴", 0.5), ("袁", 0.5), ("韩", 0.5), ("范", 0.5), ("曹", 0.5), ("姜", 0.5),
    ("魏", 0.4), ("孔", 0.4), ("鲍", 0.3), ("单", 0.3), ("骆", 0.3), ("裘", 0.2), ("竺", 0.1),
    ("欧阳", 0.08), ("诸葛", 0.05), ("司马", 0.03), ("上官", 0.03),
)
_MALE_CHARS = "伟强磊军勇杰涛斌超明华建国平刚峰鹏辉飞俊浩宇凯晨阳亮林波鑫海东文志晓永立新春荣健毅昊睿哲轩然博泽航宁锋嘉祥骏彬晖"
_FEMALE_CHARS = "芳娟敏静丽艳娜霞燕红玲萍婷雪琳慧颖佳倩晶洁蕾薇琪悦欣怡雯璐瑶菲丹莉娅梦思雨涵诗月琴玉英兰凤梅婧"
_MALE_OLD = ("建国", "建华", "国强", "卫东", "志刚", "建平", "国华", "建军", "永明", "伟民", "红军", "国庆", "建新", "海军")
_MALE_YOUNG = ("子轩", "浩然", "宇航", "俊杰", "梓豪", "一鸣", "逸凡", "子豪", "皓轩", "嘉豪", "宇轩", "思远")
_FEMALE_OLD = ("秀英", "桂英", "丽华", "美华", "玉珍", "素芳", "建英", "红梅", "丽萍", "爱华", "彩霞", "雪芬")
_FEMALE_YOUNG = ("欣怡", "梓涵", "雨涵", "诗琪", "佳怡", "思彤", "一诺", "可欣", "语嫣", "梦瑶", "雨萱", "佳琪")

_EDUCATIONS = (Education.DOCTORATE.value, Education.MASTER.value, Education.BACHELOR.value,
               Education.COLLEGE.value, Education.SECONDARY.value, Education.OTHER.value)
# staff type → (weights under 50, weights 50 and over), in _EDUCATIONS order
_EDUCATION_WEIGHTS = {
    "organ": ((1.5, 24, 66, 7.5, 1, 0), (0.5, 10, 62, 22, 5, 0.5)),
    "police": ((0.5, 12, 72, 14, 1.5, 0), (0.2, 5, 55, 32, 7.5, 0.3)),
    "med": ((7, 32, 48, 11, 2, 0), (4, 18, 50, 22, 6, 0)),
    "edu": ((1, 22, 71.5, 5, 0.5, 0), (0.3, 8, 70, 19, 2.7, 0)),
    "gen": ((2, 20, 60, 14, 4, 0), (1, 8, 52, 28, 10, 1)),
    "worker": ((0, 0.5, 14, 42, 36, 7.5), (0, 0.2, 6, 30, 50, 13.8)),
}
_MALE_SHARE = {"organ": 0.60, "police": 0.80, "med": 0.35, "edu": 0.28, "gen": 0.50, "worker": 0.70}

_YOUNGEST = date(REFERENCE_DATE.year - 22, REFERENCE_DATE.month, REFERENCE_DATE.day).toordinal()
# Oldest regular staff, safely before their statutory retirement on REFERENCE_DATE.
_OLDEST_MALE = date(1966, 11, 2).toordinal()  # < 60 years; retirement 60y5m+ for these cohorts
_OLDEST_FEMALE = date(1971, 11, 2).toordinal()  # < 55 years; cadres retire at 55y6m+
_OLDEST_FEMALE_WORKER = date(1976, 11, 2).toordinal()  # < 50 years; 工勤 women retire at 51y+
# Planted retirement_due: men 63.5–65 years old, past even the final 63-year age.
_RETIRED_FROM, _RETIRED_TO = date(1961, 11, 2).toordinal(), date(1963, 4, 30).toordinal()
_DAYS_21Y = 7672  # > 21 years in days, whatever the leap days
_ALL_SERIALS = (1 << 100) - 1
_MIDDLE = (_YOUNGEST + _OLDEST_FEMALE_WORKER) // 2


def _cumulative(weights) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def demo_dir(data_dir: Path, database_url: str) -> Path:
    """Where the demo city's CSVs of one database live: ``DATA_DIR/demo-city/<database>-<hash of its URL>``.

    Per database, so that a demo against another database never overwrites the files a running demo's stream reads
    (`hub demo --stream-only` plans its events from them)."""
    import hashlib
    import re

    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", database_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]) or "db"
    return Path(data_dir) / "demo-city" / f"{name}-{hashlib.sha256(database_url.encode()).hexdigest()[:8]}"


def generate_city(
    out_dir: Path,
    persons: int,
    seed: int = 42,
    anomalies: float = 0.01,
    progress: Callable[[int], None] | None = None,
) -> CitySummary:
    """Write a synthetic city's bulk-import CSVs into ``out_dir``; same arguments, same bytes.

    ``anomalies`` is the share planted: of units over quota, of organs over leader quota and of
    persons past retirement (at least one of each when ``persons >= 200`` and ``anomalies > 0``).
    ``progress(n)`` is called with the number of persons written, every 1000 and at the end.
    """
    if persons < 0:
        raise ValueError("persons must be >= 0")
    if not 0 <= anomalies <= 1:
        raise ValueError("anomalies must be between 0 and 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    units = _select(_catalogue(), persons, rng)
    for u in units:
        u.weight *= rng.uniform(0.75, 1.25)  # no two units of a template alike
    _assign_codes(units, rng)

    # --- headcount per unit and category
    base = 1 if persons >= len(units) else 0
    sizes = _largest_remainder(persons - base * len(units), [u.weight for u in units])
    for u, n in zip(units, sizes):
        _split_categories(u, n + base, rng)
        _plan_leaders(u, rng)

    # --- approved quota: postings plus ~8% free seats; empty rows get one seat
    rows = [(u, c) for u in units for c in (_PROFILE_CATEGORIES[u.profile] + ((_WRK,) if _WRK in u.counts else ()))]
    free_total = round(persons * FREE_SHARE)
    for u, c in rows:
        u.counts.setdefault(c, 0)
        u.approved[c] = u.counts[c] if u.counts[c] else 1
    free_total -= sum(1 for u, c in rows if u.counts[c] == 0)
    extra = _largest_remainder(free_total, [u.counts[c] * rng.uniform(0.4, 1.6) for u, c in rows])
    for (u, c), e in zip(rows, extra):
        u.approved[c] += e

    # --- planted anomalies
    def how_many(population: int) -> int:
        if anomalies <= 0 or population <= 0:
            return 0
        k = round(anomalies * population)
        return max(k, 1) if persons >= 200 else k

    planted: dict[str, list[str]] = {PLANTED_OVER_QUOTA: [], PLANTED_LEADERSHIP: [], PLANTED_RETIREMENT: []}
    candidates = [u for u in units if max(u.counts.values()) >= 2]
    for u in rng.sample(candidates, min(how_many(len(units)), len(candidates))):
        cats = [c for c in u.counts if u.counts[c] >= 2]
        main = max(cats, key=lambda c: u.counts[c])
        c = rng.choice(cats) if rng.random() < 0.3 else main
        d = max(1, round(u.counts[c] * rng.uniform(0.02, 0.10)))
        u.approved[c] = u.counts[c] - min(d, u.counts[c] - 1)
        planted[PLANTED_OVER_QUOTA].append(u.code)
    organs = [u for u in units if u.leaders]
    led = [u for u in organs if sum(u.leaders.values()) >= 1
           and sum(u.counts.get(c, 0) for c in _LEADER_CATEGORIES[u.profile]) > sum(u.leaders.values())]
    for u in rng.sample(led, min(how_many(len(organs)), len(led))):
        ranks = [r for r in _LEVEL_RANKS[u.level] if u.leaders[r] >= 1]
        deputies = [r for r in ranks if r.value.startswith("DEPUTY_")]
        r = rng.choice(deputies) if deputies and rng.random() < 0.7 else rng.choice(ranks)
        pool = sum(u.counts.get(c, 0) for c in _LEADER_CATEGORIES[u.profile])
        spare = pool - sum(u.leaders.values())
        add = min(spare, max(1, round(sum(u.leaders.values()) * rng.uniform(0.1, 0.3))))
        u.lead_approved[r] = u.leaders[r]
        u.leaders[r] += add
        planted[PLANTED_LEADERSHIP].append(u.code)
    retire_at = set(rng.sample(range(persons), min(how_many(persons), persons)))

    # --- units, quotas, leader quotas
    summary = CitySummary(planted=planted)

    def writer(name: str, header):
        f = open(out_dir / name, "w", encoding="utf-8", newline="")
        w = csv_safe.writer(f, lineterminator="\n")
        w.writerow(header)
        return f, w

    code_of = {u.name: u.code for u in units}
    f, w = writer("units.csv", UNITS_HEADER)
    with f:
        for u in units:
            w.writerow((u.code, u.name, u.kind.value, u.level.value, u.region,
                        code_of.get(u.parent, "") if u.parent else "", u.funding.value, *unit_parameters(u)))
    summary.units = len(units)
    f, w = writer("quotas.csv", QUOTAS_HEADER)
    with f:
        for u in units:
            for c in QuotaCategory:
                if c in u.approved:
                    w.writerow((u.code, c.value, u.approved[c]))
                    summary.quotas += 1
                    summary.approved += u.approved[c]
    f, w = writer("leader_quotas.csv", LEADER_QUOTAS_HEADER)
    with f:
        for u in units:
            for r in LeaderRank:
                if r in u.lead_approved:
                    w.writerow((u.code, r.value, u.lead_approved[r]))
                    summary.leader_quotas += 1

    # --- persons and postings, streamed
    rand, randrange, triangular = rng.random, rng.randrange, rng.triangular
    bis = bisect.bisect_right
    surnames = [s for s, _ in _SURNAMES]
    surname_cum = _cumulative(w for _, w in _SURNAMES)
    surname_total = surname_cum[-1]
    edu_cum = {k: tuple(_cumulative(ws) for ws in v) for k, v in _EDUCATION_WEIGHTS.items()}
    elsewhere = [c for c, _ in _ELSEWHERE]
    elsewhere_cum = _cumulative(w for _, w in _ELSEWHERE)
    district_sizes = _cumulative(d[2] for d in _DISTRICTS)
    ref_ord = REFERENCE_DATE.toordinal()
    fromordinal = date.fromordinal
    used_serials: dict[int, int] = {}  # region * 10^6 + birth ordinal → bitmask of serials 0..99

    def pick_district() -> str:
        return DISTRICT_CODES[bis(district_sizes, rand() * district_sizes[-1])]

    def given_name(male: bool, year: int) -> str:
        r = rand()
        if r < 0.12:
            if year < 1975:
                pool = _MALE_OLD if male else _FEMALE_OLD
                return pool[randrange(len(pool))]
            if year >= 1992:
                pool = _MALE_YOUNG if male else _FEMALE_YOUNG
                return pool[randrange(len(pool))]
        chars = _MALE_CHARS if male else _FEMALE_CHARS
        if r < (0.40 if 1975 <= year < 1995 else 0.22):
            return chars[randrange(len(chars))]
        return chars[randrange(len(chars))] + chars[randrange(len(chars))]

    fp, wp = writer("persons.csv", PERSONS_HEADER)
    fq, wq = writer("postings.csv", POSTINGS_HEADER)
    index = 0
    with fp, fq:
        for u in units:
            lead_cats = _LEADER_CATEGORIES[u.profile]
            ranks = [r.value for r in _LEVEL_RANKS.get(u.level, ()) for _ in range(u.leaders.get(r, 0))]
            home_is_city = u.region == CITY_REGION
            for c in lead_cats + tuple(c for c in QuotaCategory if c not in lead_cats):
                count = u.counts.get(c, 0)
                if not count:
                    continue
                worker = c is _WRK
                staff = "worker" if worker else u.staff
                male_share = _MALE_SHARE[staff]
                edu_young, edu_old = edu_cum[staff]
                leaders_here = min(len(ranks), count) if c in lead_cats else 0
                cat_value = c.value
                for k in range(count):
                    rank = ""
                    if k < leaders_here:
                        rank = ranks.pop()
                    if index in retire_at:
                        male = True
                        birth_ord = _RETIRED_FROM + randrange(_RETIRED_TO - _RETIRED_FROM + 1)
                        planted_retiree = True
                    else:
                        planted_retiree = False
                        male = rand() < (min(0.9, male_share + 0.15) if rank else male_share)
                        if male:
                            oldest, top = _OLDEST_MALE, 60.0
                        elif worker:
                            oldest, top = _OLDEST_FEMALE_WORKER, 50.0
                        else:
                            oldest, top = _OLDEST_FEMALE, 55.0
                        if rank:
                            age = triangular(30.0, top, top - 12.0)
                        elif rand() < 0.7:
                            age = triangular(22.0, top, 36.0)
                        else:
                            age = 22.0 + (top - 22.0) * rand()
                        birth_ord = ref_ord - int(age * 365.2425)
                        if birth_ord > _YOUNGEST:
                            birth_ord = _YOUNGEST
                        elif birth_ord < oldest:
                            birth_ord = oldest
                    birth = fromordinal(birth_ord)
                    year = birth.year
                    # ID region: where they were born, with the code of that time
                    r = rand()
                    if r < 0.87:
                        home = pick_district() if (home_is_city or r >= 0.75) else u.region
                        region = _birth_region(home, year, rand())
                    else:
                        region = elsewhere[bis(elsewhere_cum, rand() * elsewhere_cum[-1])]
                    key = int(region) * 1_000_000 + birth_ord
                    mask = used_serials.get(key, 0)
                    step = -1 if birth_ord > _MIDDLE else 1  # away from the age bounds
                    while mask == _ALL_SERIALS:  # 100 people of one region and day: next day
                        birth_ord += step
                        key = int(region) * 1_000_000 + birth_ord
                        mask = used_serials.get(key, 0)
                    birth = fromordinal(birth_ord)
                    serial = randrange(100)
                    while mask >> serial & 1:  # collision: next serial
                        serial = (serial + 1) % 100
                    used_serials[key] = mask | (1 << serial)
                    id_number = make_id_number(region, birth, serial, male)
                    if planted_retiree:
                        planted[PLANTED_RETIREMENT].append(id_number)
                    name = surnames[bis(surname_cum, rand() * surname_total)] + given_name(male, year)
                    cum = edu_old if ref_ord - birth_ord >= 18262 else edu_young  # 50 years
                    education = _EDUCATIONS[bis(cum, rand() * cum[-1])]
                    # posting start: first job after 21, then some time in this unit
                    first_job = birth_ord + _DAYS_21Y + randrange(6 * 365)
                    if first_job > ref_ord:
                        first_job = ref_ord
                    start = first_job + int((ref_ord - first_job) * rand())
                    wp.writerow((id_number, name, "M" if male else "F", birth.isoformat(), education))
                    wq.writerow((id_number, u.code, cat_value, rank, fromordinal(start).isoformat()))
                    index += 1
                    if progress is not None and index % 1000 == 0:
                        progress(index)
    if progress is not None and index % 1000:
        progress(index)
    summary.persons = summary.postings = index
    return summary
