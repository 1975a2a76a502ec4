"""Words and numbers of the demo company's sales: product lines, products and prices,
deal names, competitors, reasons, lead requests and task titles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    pipeline: str  # "standard" (the default pipeline) or "service"
    share: float  # share of the deals
    amount: tuple[int, int]  # deal size in 元 (log-uniform)
    cycle: tuple[int, int]  # days from creation to close
    win_rate: float  # of the closed deals
    short: bool  # a short sale: middle stages without a gate are often skipped
    products: tuple[tuple[str, str, int], ...]  # (code, name, list price 元)
    deal_names: tuple[str, ...]


LINES: tuple[Line, ...] = (
    Line("ro", "反渗透设备", "standard", 0.26, (200_000, 3_000_000), (45, 200), 0.33, False, (
        ("RO-2T", "2吨/小时反渗透纯水设备", 180_000),
        ("RO-10T", "10吨/小时反渗透设备", 560_000),
        ("RO-50T", "50吨/小时双级反渗透系统", 1_850_000),
        ("EDI-5T", "EDI超纯水系统 5吨/小时", 980_000),
    ), ("{who}纯水系统项目", "{who}反渗透设备采购", "{who}RO扩容改造", "{who}超纯水站二期")),
    Line("uf", "超滤设备", "standard", 0.12, (150_000, 1_500_000), (40, 160), 0.35, False, (
        ("UF-10T", "10吨/小时超滤系统", 260_000),
        ("UF-50T", "50吨/小时浸没式超滤系统", 1_100_000),
    ), ("{who}超滤系统项目", "{who}预处理超滤改造", "{who}中水回用超滤")),
    Line("softener", "软化水设备", "standard", 0.14, (30_000, 400_000), (15, 75), 0.42, True, (
        ("SOFT-5T", "全自动软化水设备 5吨/小时", 38_000),
        ("SOFT-20T", "双罐软化水设备 20吨/小时", 120_000),
        ("BOILER-FW", "锅炉补给水软化系统", 260_000),
    ), ("{who}软化水设备采购", "{who}锅炉补给水改造", "{who}软水器更换")),
    Line("wastewater", "污水处理设备", "standard", 0.18, (300_000, 5_000_000), (60, 240), 0.3,
         False, (
             ("WW-MBR100", "MBR一体化污水处理设备 100吨/天", 420_000),
             ("WW-IND500", "工业废水处理系统 500吨/天", 2_600_000),
             ("WW-SLUDGE", "叠螺污泥脱水机", 180_000),
             ("WW-REUSE", "中水回用系统", 900_000),
         ), ("{who}污水处理站项目", "{who}废水提标改造", "{who}中水回用工程", "{who}一体化污水设备")),
    Line("consumables", "耗材与备件", "standard", 0.18, (10_000, 100_000), (5, 40), 0.52, True, (
        ("MEM-RO8040", "8040反渗透膜元件", 4_800),
        ("FLT-PP40", "40寸PP滤芯（箱）", 1_200),
        ("CHEM-AS", "阻垢剂（25公斤/桶）", 900),
        ("RESIN-001", "软化树脂（25升/袋）", 650),
    ), ("{who}膜元件更换", "{who}年度耗材采购", "{who}滤芯及药剂补货", "{who}备件采购")),
    Line("service", "运维服务", "service", 0.12, (20_000, 300_000), (14, 90), 0.5, True, (
        ("SVC-ANNUAL", "年度运维合同", 60_000),
        ("SVC-CIP", "膜化学清洗服务", 18_000),
        ("SVC-UPGRADE", "系统改造升级", 150_000),
    ), ("{who}年度运维合同", "{who}膜清洗服务", "{who}维保续约", "{who}系统升级服务")),
)

# The second pipeline, for the service line: (name, order, kind, probability %,
# required fields, required activities). The default pipeline comes from sales/0002.
SERVICE_PIPELINE = "运维服务流程"
SERVICE_STAGES = (
    ("需求沟通", 10, "open", 20, [], []),
    ("服务报价", 20, "open", 50, ["amount"], []),
    ("合同审批", 30, "open", 80, ["amount", "expected_close"], []),
    ("签约", 90, "won", 100, ["amount"], []),
    ("未成交", 99, "lost", 0, [], []),
)

COMPETITORS = ("3M", "海德能", "碧水源", "滨特尔", "陶氏", "苏伊士", "立升", "津膜科技", "沁森",
               "时代沃顿")
LOST_REASONS = {"价格偏高": 30, "选择了竞争对手": 28, "预算不足": 15, "项目取消": 12,
                "技术方案不符合要求": 8, "交期太长": 4, "客户失联": 3}
UNQUALIFIED_REASONS = ("无真实采购需求", "联系方式无效", "预算太低", "同行询价", "已采购其他品牌",
                       "不在服务区域", "个人咨询，非企业客户")
RELEASE_NOTES = ("客户暂无需求，释放到公海", "联系人离职，暂时无法跟进", "客户已选定其他供应商",
                 "工作调整，交回公海")
# Deal next steps by how far the deal is (index into the pipeline's open stages).
DEAL_NEXT_STEPS = (
    ("电话了解用水需求", "寄送产品资料", "约拜访时间"),
    ("确认处理水量和水质指标", "索取水质检测报告", "确认预算和采购时间"),
    ("安排技术人员现场勘查", "测量设备间尺寸", "取水样送检"),
    ("发送正式报价单", "优化方案降低运行成本", "准备投标文件"),
    ("跟进合同审批进度", "申请特价审批", "确认付款方式和交期"),
)

# Lead requests.
LEAD_REQUESTS = (
    "咨询{eq}，日处理量约{n}吨，请尽快报价。",
    "工厂扩建，需要一套{eq}，希望安排技术人员联系。",
    "现有设备产水量下降，想了解{eq}更换方案。",
    "环保验收需要，咨询{eq}价格和交期。",
    "请发送{eq}的产品资料和同行业案例。",
    "展会上了解到贵司{eq}，希望进一步沟通。",
)
LEAD_TITLES = ("采购经理", "设备部经理", "总工程师", "厂长", "项目经理", "总经理", "环保专员",
               "工程部经理")

# Lead forms: (key prefix, name, source, campaign).
WEBSITE_FORM = ("website", "官网询价表单", "website", "官网")
EXPO_FORM = ("expo", "{year} 上海国际水展", "exhibition", "{year} 上海国际水展")
EXPO_DAYS_AGO = 45  # the expo began this many days before today (three days)

# Task titles by kind; {who} is the customer's short name, {eq} a product.
TASK_TITLES = {
    "call": ("电话回访{who}", "电话确认{who}报价反馈", "跟进{who}采购进度", "电话预约{who}拜访时间"),
    "visit": ("拜访{who}", "{who}现场勘查", "陪同总工拜访{who}", "{who}设备巡检"),
    "meeting": ("{who}方案交流会", "{who}商务谈判", "视频会议：{who}技术澄清"),
    "email": ("发送{eq}报价单给{who}", "邮件发送技术方案给{who}", "发送合同草稿给{who}"),
    "todo": ("准备{who}投标文件", "整理{who}合同草稿", "申请{who}特价审批", "提交{who}报价审批",
             "更新{who}客户资料"),
}
LEAD_TASK_TITLES = ("电话联系线索：{who}", "发送资料给{who}", "确认{who}需求")
WEEKLY_CALL_TITLE = "每周例行回访：{who}"
WEEKLY_MEETING_TITLE = "{office}销售周会"
