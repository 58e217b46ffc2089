"""Rank (职级) for every person, as HR (组织人社) keeps it, and what it says about a leader's rank and retirement.

Four families, each with the registry's code and the office's Chinese name:

* civil servants' ranks (公务员职级, 职务与职级并行): 一级巡视员 … 二级科员;
* the leadership posts themselves (领导职务: 正处, 副处, 正科, 副科 — the ``LeaderRank`` of a posting), which HR
  may report as a person's rank;
* public institutions' posts: management posts (管理岗位 一级 … 十级), professional and technical posts
  (专业技术岗位 一级 … 十三级: 一至四级 正高级, 五至七级 副高级) and worker skill posts (工勤技能岗位 一级 … 五级,
  普通工).

Every civil-servant rank, leadership post and management post sits on a level (层次: 厅局级正职 … 办事员); a leader
rank on a posting contradicts HR's rank when HR's rank sits on another level. Professional and worker grades are
not comparable with leadership posts: they never contradict one.

Plain Python: no framework imports here.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from hub.domain.vocabulary import LeaderRank, _Vocab


class Rank(_Vocab):
    # 公务员职级
    LEVEL1_INSPECTOR = "LEVEL1_INSPECTOR"  # 一级巡视员
    LEVEL2_INSPECTOR = "LEVEL2_INSPECTOR"  # 二级巡视员
    LEVEL1_RESEARCHER = "LEVEL1_RESEARCHER"  # 一级调研员
    LEVEL2_RESEARCHER = "LEVEL2_RESEARCHER"  # 二级调研员
    LEVEL3_RESEARCHER = "LEVEL3_RESEARCHER"  # 三级调研员
    LEVEL4_RESEARCHER = "LEVEL4_RESEARCHER"  # 四级调研员
    LEVEL1_PRINCIPAL_CLERK = "LEVEL1_PRINCIPAL_CLERK"  # 一级主任科员
    LEVEL2_PRINCIPAL_CLERK = "LEVEL2_PRINCIPAL_CLERK"  # 二级主任科员
    LEVEL3_PRINCIPAL_CLERK = "LEVEL3_PRINCIPAL_CLERK"  # 三级主任科员
    LEVEL4_PRINCIPAL_CLERK = "LEVEL4_PRINCIPAL_CLERK"  # 四级主任科员
    LEVEL1_CLERK = "LEVEL1_CLERK"  # 一级科员
    LEVEL2_CLERK = "LEVEL2_CLERK"  # 二级科员
    # 领导职务 (a posting's LeaderRank)
    DIVISION_CHIEF = "DIVISION_CHIEF"  # 正处
    DEPUTY_DIVISION_CHIEF = "DEPUTY_DIVISION_CHIEF"  # 副处
    SECTION_CHIEF = "SECTION_CHIEF"  # 正科
    DEPUTY_SECTION_CHIEF = "DEPUTY_SECTION_CHIEF"  # 副科
    # 事业单位管理岗位
    MANAGEMENT_1 = "MANAGEMENT_1"  # 管理岗位一级
    MANAGEMENT_2 = "MANAGEMENT_2"
    MANAGEMENT_3 = "MANAGEMENT_3"
    MANAGEMENT_4 = "MANAGEMENT_4"
    MANAGEMENT_5 = "MANAGEMENT_5"  # 五级职员: 正处级
    MANAGEMENT_6 = "MANAGEMENT_6"  # 六级职员: 副处级
    MANAGEMENT_7 = "MANAGEMENT_7"  # 七级职员: 正科级
    MANAGEMENT_8 = "MANAGEMENT_8"  # 八级职员: 副科级
    MANAGEMENT_9 = "MANAGEMENT_9"
    MANAGEMENT_10 = "MANAGEMENT_10"
    # 专业技术岗位 (一至四级 正高级, 五至七级 副高级, 八至十级 中级, 十一至十三级 初级)
    PROFESSIONAL_1 = "PROFESSIONAL_1"
    PROFESSIONAL_2 = "PROFESSIONAL_2"
    PROFESSIONAL_3 = "PROFESSIONAL_3"
    PROFESSIONAL_4 = "PROFESSIONAL_4"
    PROFESSIONAL_5 = "PROFESSIONAL_5"
    PROFESSIONAL_6 = "PROFESSIONAL_6"
    PROFESSIONAL_7 = "PROFESSIONAL_7"
    PROFESSIONAL_8 = "PROFESSIONAL_8"
    PROFESSIONAL_9 = "PROFESSIONAL_9"
    PROFESSIONAL_10 = "PROFESSIONAL_10"
    PROFESSIONAL_11 = "PROFESSIONAL_11"
    PROFESSIONAL_12 = "PROFESSIONAL_12"
    PROFESSIONAL_13 = "PROFESSIONAL_13"
    # 工勤技能岗位
    WORKER_1 = "WORKER_1"  # 一级 (高级技师)
    WORKER_2 = "WORKER_2"  # 二级 (技师)
    WORKER_3 = "WORKER_3"  # 三级 (高级工)
    WORKER_4 = "WORKER_4"  # 四级 (中级工)
    WORKER_5 = "WORKER_5"  # 五级 (初级工)
    WORKER_GENERAL = "WORKER_GENERAL"  # 普通工


class RankLevel(str, Enum):
    """层次: where a rank sits, from 厅局级正职 down to 办事员."""

    BUREAU = "BUREAU"  # 厅局级正职
    DEPUTY_BUREAU = "DEPUTY_BUREAU"  # 厅局级副职
    DIVISION = "DIVISION"  # 县处级正职
    DEPUTY_DIVISION = "DEPUTY_DIVISION"  # 县处级副职
    SECTION = "SECTION"  # 乡科级正职
    DEPUTY_SECTION = "DEPUTY_SECTION"  # 乡科级副职
    CLERK = "CLERK"  # 科员级
    OFFICE_CLERK = "OFFICE_CLERK"  # 办事员级


_CN = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三")
R, L = Rank, RankLevel

# The office's names (中文名) of each rank: the ones HR writes.
RANK_NAMES: dict[Rank, str] = {
    R.LEVEL1_INSPECTOR: "一级巡视员", R.LEVEL2_INSPECTOR: "二级巡视员",
    R.LEVEL1_RESEARCHER: "一级调研员", R.LEVEL2_RESEARCHER: "二级调研员",
    R.LEVEL3_RESEARCHER: "三级调研员", R.LEVEL4_RESEARCHER: "四级调研员",
    R.LEVEL1_PRINCIPAL_CLERK: "一级主任科员", R.LEVEL2_PRINCIPAL_CLERK: "二级主任科员",
    R.LEVEL3_PRINCIPAL_CLERK: "三级主任科员", R.LEVEL4_PRINCIPAL_CLERK: "四级主任科员",
    R.LEVEL1_CLERK: "一级科员", R.LEVEL2_CLERK: "二级科员",
    R.DIVISION_CHIEF: "正处", R.DEPUTY_DIVISION_CHIEF: "副处", R.SECTION_CHIEF: "正科", R.DEPUTY_SECTION_CHIEF: "副科",
    **{Rank(f"MANAGEMENT_{i}"): f"管理岗位{_CN[i - 1]}级" for i in range(1, 11)},
    **{Rank(f"PROFESSIONAL_{i}"): f"专业技术岗位{_CN[i - 1]}级" for i in range(1, 14)},
    **{Rank(f"WORKER_{i}"): f"工勤技能岗位{_CN[i - 1]}级" for i in range(1, 6)},
    R.WORKER_GENERAL: "普通工",
}

# Other spellings HR uses for the same ranks.
_ALIASES: dict[str, Rank] = {
    "正处级": R.DIVISION_CHIEF, "副处级": R.DEPUTY_DIVISION_CHIEF, "正科级": R.SECTION_CHIEF, "副科级": R.DEPUTY_SECTION_CHIEF,
    **{f"{_CN[i - 1]}级职员": Rank(f"MANAGEMENT_{i}") for i in range(1, 11)},
    "高级技师": R.WORKER_1, "技师": R.WORKER_2, "高级工": R.WORKER_3, "中级工": R.WORKER_4, "初级工": R.WORKER_5,
    # the post grades written with Arabic digits (管理岗位5级, 专业技术岗位10级, 工勤技能岗位2级)
    **{f"管理岗位{i}级": Rank(f"MANAGEMENT_{i}") for i in range(1, 11)},
    **{f"专业技术岗位{i}级": Rank(f"PROFESSIONAL_{i}") for i in range(1, 14)},
    **{f"工勤技能岗位{i}级": Rank(f"WORKER_{i}") for i in range(1, 6)},
}

RANK_LEVEL: dict[Rank, RankLevel] = {
    R.LEVEL1_INSPECTOR: L.BUREAU, R.LEVEL2_INSPECTOR: L.DEPUTY_BUREAU,
    R.LEVEL1_RESEARCHER: L.DIVISION, R.LEVEL2_RESEARCHER: L.DIVISION,
    R.LEVEL3_RESEARCHER: L.DEPUTY_DIVISION, R.LEVEL4_RESEARCHER: L.DEPUTY_DIVISION,
    R.LEVEL1_PRINCIPAL_CLERK: L.SECTION, R.LEVEL2_PRINCIPAL_CLERK: L.SECTION,
    R.LEVEL3_PRINCIPAL_CLERK: L.DEPUTY_SECTION, R.LEVEL4_PRINCIPAL_CLERK: L.DEPUTY_SECTION,
    R.LEVEL1_CLERK: L.CLERK, R.LEVEL2_CLERK: L.OFFICE_CLERK,
    R.DIVISION_CHIEF: L.DIVISION, R.DEPUTY_DIVISION_CHIEF: L.DEPUTY_DIVISION,
    R.SECTION_CHIEF: L.SECTION, R.DEPUTY_SECTION_CHIEF: L.DEPUTY_SECTION,
    R.MANAGEMENT_3: L.BUREAU, R.MANAGEMENT_4: L.DEPUTY_BUREAU, R.MANAGEMENT_5: L.DIVISION,
    R.MANAGEMENT_6: L.DEPUTY_DIVISION, R.MANAGEMENT_7: L.SECTION, R.MANAGEMENT_8: L.DEPUTY_SECTION,
    R.MANAGEMENT_9: L.CLERK, R.MANAGEMENT_10: L.OFFICE_CLERK,
}

LEADER_LEVEL: dict[LeaderRank, RankLevel] = {
    LeaderRank.DIVISION_CHIEF: L.DIVISION, LeaderRank.DEPUTY_DIVISION_CHIEF: L.DEPUTY_DIVISION,
    LeaderRank.SECTION_CHIEF: L.SECTION, LeaderRank.DEPUTY_SECTION_CHIEF: L.DEPUTY_SECTION,
}

SENIOR_PROFESSIONAL = frozenset(Rank(f"PROFESSIONAL_{i}") for i in range(1, 8))  # 正高级 and 副高级 titles
WORKER_POSTS = frozenset({*(Rank(f"WORKER_{i}") for i in range(1, 6)), R.WORKER_GENERAL})
COUNTY_DIVISION_LEVELS = frozenset({L.DIVISION, L.DEPUTY_DIVISION})  # 县处级
# 一级、二级职员 sit above 厅局级 (省部级正职、副职): no level of the ladder here, yet above 县处级 all the same.
ABOVE_BUREAU = frozenset({R.MANAGEMENT_1, R.MANAGEMENT_2})

_BY_TEXT: dict[str, Rank] = {**{n: r for r, n in RANK_NAMES.items()}, **_ALIASES, **{r.value: r for r in Rank}}


def parse_rank(text: str | None) -> Rank | None:
    """HR's rank as the registry's ``Rank``: its code or its Chinese name (spaces ignored); None when it is empty or
    names no rank the registry knows (HR's free text is kept as sent; it then decides nothing). Full-width letters,
    digits and signs read as their ASCII forms (NFKC)."""
    if text is None:
        return None
    key = "".join(unicodedata.normalize("NFKC", text).split())
    return _BY_TEXT.get(key) or _BY_TEXT.get(key.upper())


def rank_level(rank: Rank | None) -> RankLevel | None:
    return RANK_LEVEL.get(rank) if rank is not None else None


def leader_rank_conflict(leader_rank: LeaderRank | str | None, hr_rank: str | None) -> RankLevel | None:
    """HR's rank level when it contradicts the posting's leader rank: below the post's level (a 正处 leader whom HR
    ranks 四级主任科员). Under 职务与职级并行 a leader may hold a 职级 above the post (a 正科 leader who is 四级调研员):
    no contradiction. None when they agree, when either is missing, or when HR's rank is not on the ladder."""
    if not leader_rank:
        return None
    level = rank_level(parse_rank(hr_rank))
    if level is None:
        return None
    ladder = list(RankLevel)  # from 厅局级正职 down
    return level if ladder.index(level) > ladder.index(LEADER_LEVEL[LeaderRank(leader_rank)]) else None


def is_worker_post(rank: Rank | None) -> bool:
    """A 工勤技能 post (for a woman's retirement age)."""
    return rank in WORKER_POSTS


def is_county_division(rank: Rank | None, leader_rank: LeaderRank | str | None = None) -> bool:
    """A 县处级 leader or rank: the posting's leader rank or HR's rank sits at 县处级 or above."""
    if rank in ABOVE_BUREAU:
        return True
    levels = {rank_level(rank), LEADER_LEVEL.get(LeaderRank(leader_rank)) if leader_rank else None}
    return bool(levels & {L.DIVISION, L.DEPUTY_DIVISION, L.BUREAU, L.DEPUTY_BUREAU})
