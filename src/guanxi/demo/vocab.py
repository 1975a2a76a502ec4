"""Words the demo generator builds believable names, titles and histories from."""

from __future__ import annotations

# Characters brand names are made of (two of them: 兴瑞, 恒达, 鑫源 …).
BRAND_CHARS = ("兴瑞华恒鑫达源泰宏盛安康德信丰祥隆昌明晨海天新中金永通和嘉佳美润清蓝绿洁博远"
               "志诚腾飞凯瀚宇航正东南捷力威诺益利鼎豪骏锦创科睿智同尚鸿辉光荣富广亿万联合")

# (code, name, share of customers, [(full-name template, short-name template)]).
# Codes match the equipment industry pack where it defines the same industry.
INDUSTRIES: tuple[tuple[str, str, float, tuple[tuple[str, str], ...]], ...] = (
    ("municipal-water", "市政水务", 0.09, (
        ("{city}{brand}水务有限公司", "{brand}水务"),
        ("{city}{brand}自来水有限公司", "{brand}自来水"),
        ("{city}{brand}污水处理有限公司", "{brand}污水处理"),
        ("{city}{brand}排水有限公司", "{brand}排水"),
        ("{city}{brand}水务集团有限公司", "{brand}水务集团"),
    )),
    ("chemical", "石油化工", 0.13, (
        ("{city}{brand}化工有限公司", "{brand}化工"),
        ("{city}{brand}精细化工有限公司", "{brand}精细化工"),
        ("{brand}新材料科技股份有限公司", "{brand}新材料"),
        ("{city}{brand}石化有限公司", "{brand}石化"),
        ("{city}{brand}涂料有限公司", "{brand}涂料"),
    )),
    ("food-beverage", "食品饮料", 0.12, (
        ("{city}{brand}食品有限公司", "{brand}食品"),
        ("{city}{brand}饮料有限公司", "{brand}饮料"),
        ("{city}{brand}乳业有限公司", "{brand}乳业"),
        ("{city}{brand}啤酒有限公司", "{brand}啤酒"),
        ("{brand}食品科技有限公司", "{brand}食品"),
    )),
    ("pharma", "医药制药", 0.07, (
        ("{city}{brand}制药有限公司", "{brand}制药"),
        ("{brand}生物医药科技有限公司", "{brand}生物"),
        ("{city}{brand}药业股份有限公司", "{brand}药业"),
    )),
    ("power", "电力能源", 0.05, (
        ("{city}{brand}热电有限公司", "{brand}热电"),
        ("{city}{brand}能源有限公司", "{brand}能源"),
        ("{brand}电力有限公司", "{brand}电力"),
        ("{city}{brand}发电有限公司", "{brand}发电"),
    )),
    ("electronics", "电子半导体", 0.08, (
        ("{city}{brand}电子科技有限公司", "{brand}电子"),
        ("{brand}半导体有限公司", "{brand}半导体"),
        ("{city}{brand}光电科技有限公司", "{brand}光电"),
        ("{brand}微电子有限公司", "{brand}微电子"),
    )),
    ("steel", "钢铁冶金", 0.04, (
        ("{city}{brand}钢铁有限公司", "{brand}钢铁"),
        ("{brand}特钢有限公司", "{brand}特钢"),
        ("{city}{brand}金属制品有限公司", "{brand}金属"),
    )),
    ("paper", "造纸印染", 0.04, (
        ("{city}{brand}纸业有限公司", "{brand}纸业"),
        ("{city}{brand}印染有限公司", "{brand}印染"),
        ("{brand}纺织有限公司", "{brand}纺织"),
    )),
    ("property", "房地产与物业", 0.09, (
        ("{city}{brand}物业管理有限公司", "{brand}物业"),
        ("{brand}置业有限公司", "{brand}置业"),
        ("{city}{brand}物业服务有限公司", "{brand}物业"),
    )),
    ("hotel", "酒店", 0.05, (
        ("{city}{brand}大酒店有限公司", "{brand}大酒店"),
        ("{brand}酒店管理有限公司", "{brand}酒店"),
        ("{city}{brand}国际酒店", "{brand}国际酒店"),
    )),
    ("education", "学校", 0.04, (
        ("{city}{brand}职业技术学院", "{brand}职院"),
        ("{city}{brand}外国语学校", "{brand}外国语学校"),
        ("{city}市第{num}中学", "{city}{num}中"),
        ("{city}{brand}实验学校", "{brand}实验学校"),
    )),
    ("healthcare", "医院", 0.05, (
        ("{city}市第{num}人民医院", "{city}{num}院"),
        ("{city}{brand}医院", "{brand}医院"),
        ("{city}{brand}中医医院", "{brand}中医院"),
        ("{city}{brand}妇幼保健院", "{brand}妇幼"),
    )),
    ("industrial-park", "工业园区", 0.04, (
        ("{city}{brand}工业园区管理有限公司", "{brand}工业园"),
        ("{city}{brand}经济开发区投资有限公司", "{brand}开发区"),
        ("{brand}产业园运营管理有限公司", "{brand}产业园"),
    )),
    ("environmental", "环保工程", 0.10, (
        ("{city}{brand}环保科技有限公司", "{brand}环保"),
        ("{city}{brand}环境工程有限公司", "{brand}环境"),
        ("{brand}水处理技术有限公司", "{brand}水处理"),
    )),
)
# Two-letter hints used in e-mail domains (xingruihb.com for 兴瑞环保).
DOMAIN_HINTS = {
    "municipal-water": "water", "chemical": "chem", "food-beverage": "food", "pharma": "pharm",
    "power": "power", "electronics": "tech", "steel": "steel", "paper": "paper",
    "property": "wy", "hotel": "hotel", "education": "edu", "healthcare": "hosp",
    "industrial-park": "park", "environmental": "hb",
}
NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")

# Surnames, most common first (weights fall off with rank).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
            "侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红玲芬燕彬鹏辉建国志斌海波宇"
               "浩凯婷雪琳晶欣怡佳涵轩博文俊峰思晓东亮飞鑫宏立新林春梅兰云凤洁倩瑶莉颖健成")

# (job title, department) of customer contacts.
TITLES: tuple[tuple[str, str], ...] = (
    ("采购经理", "采购部"), ("采购主管", "采购部"), ("采购专员", "采购部"),
    ("总工程师", "技术部"), ("技术部主管", "技术部"), ("工艺工程师", "技术部"),
    ("设备科科长", "设备科"), ("设备部经理", "设备部"), ("设备工程师", "设备部"),
    ("生产部经理", "生产部"), ("厂长", "生产部"), ("水处理车间主任", "生产部"),
    ("动力车间主任", "动力车间"), ("环保专员", "安全环保部"), ("EHS经理", "安全环保部"),
    ("工程部经理", "工程部"), ("项目经理", "工程部"), ("总经理", "总经办"),
    ("副总经理", "总经办"), ("董事长助理", "总经办"), ("财务经理", "财务部"),
    ("后勤处处长", "后勤处"), ("基建处处长", "基建处"), ("物业经理", "物业服务中心"),
)

# Foreign customers: (country code, city, phone patterns as (prefix, random digits),
# name parts, company suffixes, contact names).
FOREIGN = (
    ("SG", "Singapore", (("+656", 7, "12345"), ("+658", 7, "12345678")),
     ("Aqua", "Lion City", "Marina", "Straits", "Jurong"), ("Water Pte. Ltd.", "Engineering Pte. Ltd."),
     ("Tan Wei Ming", "Lim Hui Ling", "Rajesh Kumar", "Sarah Ng")),
    ("TH", "Bangkok", (("+662", 7, ""),),
     ("Siam", "Chao Phraya", "Rattana", "Sukhum"), ("Aqua Co., Ltd.", "Water Treatment Co., Ltd."),
     ("Somchai Wongsa", "Nattaya Srisuk", "Anan Chaiyaporn")),
    ("ID", "Jakarta", (("+6221", 8, "2345678"),),
     ("PT Tirta", "PT Sinar", "PT Mandala", "PT Cahaya"), ("Mandiri", "Utama Abadi", "Water Indonesia"),
     ("Budi Santoso", "Dewi Lestari", "Agus Wijaya")),
    ("VN", "Ho Chi Minh City", (("+8428", 8, "367"),),
     ("Saigon", "Mekong", "Phu My", "Long An"), ("Clean Water JSC", "Environment Co., Ltd."),
     ("Nguyen Van An", "Tran Thi Mai", "Le Minh Tuan")),
    ("DE", "Hamburg", (("+4940", 8, "23456789"), ("+49151", 8, "")),
     ("Hanse", "Nord", "Elbe", "Alster"), ("Wassertechnik GmbH", "Anlagenbau GmbH"),
     ("Thomas Müller", "Anna Schmidt", "Stefan Becker")),
    ("AE", "Dubai", (("+9714", 7, "2345678"),),
     ("Gulf", "Desert", "Emirates", "Al Noor"), ("Water Solutions LLC", "Desalination LLC"),
     ("Ahmed Al Mansouri", "Fatima Hassan", "Omar Khalil")),
)

TAGS = ("重点客户", "老客户", "招投标", "政府项目", "待回款", "展会客户", "需技术支持", "年度框架协议",
        "竞品在用", "VIP")

CUSTOMER_NOTES = (
    "{year}年起使用我司{eq}，每年采购膜元件和耗材。",
    "集团统一采购，需走招投标流程。",
    "付款较慢，签约前确认账期。",
    "新厂区{year}年投产，有{eq}需求。",
    "竞品设备在用，合同{year}年到期。",
    "客户关注运行成本和售后响应速度。",
    "由{city}设计院推荐，重视案例和资质。",
)

EQUIPMENT = ("反渗透设备", "超滤系统", "EDI超纯水系统", "软化水设备", "一体化污水处理设备",
             "中水回用设备", "加药装置", "多介质过滤器", "MBR膜生物反应器", "污泥脱水机",
             "二氧化氯发生器", "紫外线消毒器", "纯化水系统", "锅炉补给水系统", "循环水处理系统")

# Interaction kinds with their share, directions and outcomes (value: weight).
KINDS: tuple[tuple[str, float], ...] = (
    ("call", 0.42), ("message", 0.15), ("email", 0.13), ("visit", 0.14), ("meeting", 0.06),
    ("note", 0.05), ("letter", 0.02), ("complaint", 0.03),
)
DIRECTIONS = {
    "call": {"out": 3, "in": 1}, "message": {"out": 3, "in": 2}, "email": {"out": 3, "in": 2},
    "visit": {"out": 1}, "meeting": {"out": 1}, "note": {"internal": 1}, "letter": {"out": 1},
    "complaint": {"in": 1},
}
CHANNELS = {
    "call": {"phone": 3, "mobile": 2}, "message": {"wechat": 5, "mobile": 1},
    "email": {"email": 1}, "visit": {"in_person": 1}, "meeting": {"in_person": 4, "video": 1},
    "note": {"other": 1}, "letter": {"post": 1}, "complaint": {"phone": 3, "wechat": 1},
}
OUTCOMES = {
    "call": {"reached": 8, "no_answer": 3, "interested": 3, "follow_up": 3, "not_interested": 1,
             "info": 2},
    "message": {"info": 3, "reached": 2, "follow_up": 1},
    "email": {"info": 3, "follow_up": 2, "interested": 1},
    "visit": {"reached": 3, "interested": 3, "follow_up": 3, "order": 1},
    "meeting": {"interested": 3, "follow_up": 3, "order": 2},
    "note": {"": 1}, "letter": {"info": 1}, "complaint": {"resolved": 7, "follow_up": 3},
}
DURATIONS = {"call": (2, 25), "visit": (30, 180), "meeting": (45, 150), "complaint": (5, 30)}

SUBJECTS = {
    "call": ("电话回访{eq}运行情况", "电话沟通{eq}报价", "确认{eq}到货时间",
             "电话跟进{eq}项目进度", "催收{eq}项目尾款", "预约现场勘查", "电话确认技术参数",
             "询问维保合同续签意向", "年度客户回访"),
    "message": ("微信确认到货时间", "微信发送{eq}资料", "微信沟通报价细节", "微信确认拜访时间",
                "短信提醒滤芯更换"),
    "email": ("发送{eq}技术方案", "发送报价单（{eq}）", "回复客户技术问询", "发送合同草稿",
              "发送维保计划", "寄送发票及对账单"),
    "visit": ("上门拜访，现场查看{eq}", "现场勘查水质和场地", "{eq}安装调试", "季度巡检{eq}",
              "拜访{title}，介绍{eq}方案", "陪同技术人员现场培训"),
    "meeting": ("{eq}项目技术交流会", "方案评审会", "合同谈判", "招标答疑会", "年度合作回顾会"),
    "note": ("内部备注：客户预算约{n}万元", "内部备注：竞品在用，关注续约时间",
             "内部备注：决策人为{title}", "内部备注：客户计划扩建产线"),
    "letter": ("寄送产品样本和资料", "寄送节日贺卡", "寄送合同原件"),
    "complaint": ("投诉：{eq}出水水质不达标", "投诉：{eq}故障停机", "投诉：售后响应慢",
                  "投诉：耗材到货延迟"),
}
# Subjects of what the customer started (direction "in").
SUBJECTS_INBOUND = {
    "call": ("来电咨询{eq}价格", "客户来电反映{eq}报警", "来电询问维保服务内容",
             "来电确认发票信息", "设计院来电了解{eq}参数"),
    "message": ("客户微信咨询耗材更换", "客户微信发来现场照片", "客户微信询问到货进度"),
    "email": ("客户来邮件询价（{eq}）", "客户发来招标文件", "客户发来水质检测报告",
              "客户邮件确认合同条款"),
}
BODY_SENTENCES = (
    "客户反馈设备运行稳定，产水量约{q}吨/小时。",
    "客户表示今年有扩产计划，预计下半年启动招标。",
    "对方正在比较三家供应商的方案，价格是主要顾虑。",
    "客户要求提供同行业案例和水质检测报告。",
    "膜元件已使用三年，产水电导率上升，建议更换。",
    "采购流程需要集团审批，预计一个月左右。",
    "{title}对方案基本认可，希望优化运行费用。",
    "现场进水浊度偏高，需增加预处理。",
    "客户希望分两期实施，一期预算{n}万元。",
    "已说明我司售后承诺：24小时响应、48小时到场。",
    "对方提出账期{d}天，需与财务确认。",
    "设备间空间有限，需重新布置管路。",
    "客户关心能耗和药剂成本，已提供测算表。",
    "环保验收在即，客户要求尽快完成整改。",
)
NEXT_STEPS = ("下周发送正式报价", "安排技术人员现场勘查", "月底再次电话回访", "准备投标文件",
              "寄送样品和检测报告", "约总工程师面谈", "跟进合同审批进度", "安排售后工程师上门",
              "提交维保续约方案", "邀请参观样板工程", "确认发货和安装时间", "催收尾款")
