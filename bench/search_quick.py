"""Quick global-search benchmark on a throw-away SQLite (or PostgreSQL) database.

    .venv/bin/python bench/search_quick.py --customers 200000
    .venv/bin/python bench/search_quick.py --customers 200000 --load rebuild
    DATABASE_URL=postgres://postgres@127.0.0.1:55439/gx_bench \
        .venv/bin/python bench/search_quick.py --customers 200000

Generates realistic customers (company names, 1–3 contacts with mobiles, landlines,
e-mails; 15 % in the pool, the rest spread over 50 reps), bulk-loads them and times
`search_customers` (server time, no HTTP) for typical queries as an administrator,
a rep and a manager. Load modes: `triggers` (insert with the FTS triggers on) or
`rebuild` (drop triggers, insert, `rebuild_search_index()`); PostgreSQL ignores it.
The database is left in --dir for inspection unless --cleanup.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CITIES = ["北京", "上海", "重庆", "天津", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京",
          "苏州", "长沙", "郑州", "青岛", "宁波", "东莞", "佛山", "合肥", "福州", "厦门", "昆明",
          "济南", "沈阳", "大连", "哈尔滨", "长春", "石家庄", "太原", "南昌", "贵阳", "南宁",
          "无锡", "常州", "温州", "泉州", "烟台", "潍坊", "绍兴", "嘉兴"]
BRAND_CHARS = ("兴瑞华盛泰恒达信鑫源宏伟丰隆昌荣康安永嘉锦明光辉联合创新科凯越天地海金银鼎新"
               "正通利德顺发宝丽美佳乐福祥和中国东南西北汇聚远航星辰晨阳春秋蓝绿青云山川江河湖")
INDUSTRIES = ["环保设备", "机械制造", "电子科技", "贸易", "食品", "化工", "建材", "物流", "医疗器械",
              "汽车配件", "纺织", "印刷包装", "家具", "软件", "农业科技", "新能源", "水务", "餐饮管理",
              "建筑工程", "五金", "仪器仪表", "塑料制品", "光电", "生物科技", "文化传媒"]
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "商行", "厂"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰婷鹏飞斌宇浩然子轩欣怡"
AREA = ["010", "021", "023", "022", "020", "0755", "028", "0571", "027", "029", "025", "0512"]
DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "aliyun.com", "foxmail.com"]


def setup_django(data_dir: Path, database_url: str | None) -> None:
    os.environ["GUANXI_DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()


def mobile(rng: random.Random) -> str:
    return f"+861{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def landline(rng: random.Random) -> str:
    area = rng.choice(AREA)
    return f"+86{area[1:]}{rng.randrange(2 * 10**7, 9 * 10**7):08d}"


def generate(n: int, reps: list, seed: int = 7):
    """Yield (customer, [contacts]) pairs, unsaved."""
    from guanxi.parties.models import Contact, Customer

    rng = random.Random(seed)
    for i in range(n):
        city = rng.choice(CITIES)
        brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.choice((2, 2, 3, 4))))
        name = f"{city}{brand}{rng.choice(INDUSTRIES)}{rng.choice(SUFFIXES)}"
        c = Customer(name=name, short_name=brand if rng.random() < 0.3 else "", city=city,
                     tier=rng.choice("AABBBCCCCC"),
                     phone=landline(rng) if rng.random() < 0.6 else "",
                     email=f"info{i}@{rng.choice(DOMAINS)}" if rng.random() < 0.4 else "",
                     owner=None if rng.random() < 0.15 else rng.choice(reps))
        contacts = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            person = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            contacts.append(Contact(name=person, mobile=mobile(rng),
                                    phone=landline(rng) if rng.random() < 0.2 else "",
                                    email=f"u{i}x{len(contacts)}@{rng.choice(DOMAINS)}"
                                    if rng.random() < 0.3 else ""))
        yield c, contacts


def load(n: int, mode: str, batch: int = 5000) -> dict[str, float]:
    from django.db import connection, transaction

    from guanxi.accounts.models import Role, Team, TeamKind, User
    from guanxi.parties import search_index
    from guanxi.parties.models import Contact, Customer
    from guanxi.parties.search import build_search_text

    company = Team.objects.create(name="总公司", kind=TeamKind.COMPANY)
    region = Team.objects.create(name="华东区", kind=TeamKind.REGION, parent=company)
    offices = [Team.objects.create(name=f"办事处{i}", parent=region) for i in range(10)]
    reps = [User.objects.create(username=f"rep{i}", role=Role.REP, team=offices[i % 10])
            for i in range(50)]
    User.objects.create(username="admin", role=Role.ADMIN, team=company, is_superuser=True)
    User.objects.create(username="manager", role=Role.MANAGER, team=offices[0])
    if mode == "rebuild":
        search_index.drop_sqlite_triggers()
    t_text = t_insert = 0.0
    pending: list = []

    def flush():
        nonlocal t_insert
        t0 = time.perf_counter()
        with transaction.atomic():
            saved = Customer.objects.bulk_create([c for c, _ in pending])
            contacts = []
            for c, cs in zip(saved, (cs for _, cs in pending), strict=True):
                for ct in cs:
                    ct.customer_id = c.pk
                    contacts.append(ct)
            Contact.objects.bulk_create(contacts)
        t_insert += time.perf_counter() - t0
        pending.clear()

    for i, (c, contacts) in enumerate(generate(n, reps), 1):
        t0 = time.perf_counter()
        c.search_text = build_search_text(c, contacts=contacts)
        t_text += time.perf_counter() - t0
        pending.append((c, contacts))
        if len(pending) >= batch:
            flush()
            if i % 50000 == 0:
                print(f"  loaded {i:,}", flush=True)
    if pending:
        flush()
    t0 = time.perf_counter()
    if mode == "rebuild" or connection.vendor == "postgresql":
        search_index.rebuild_search_index()
    else:
        with connection.cursor() as cur:  # merge FTS segments, as a nightly job would
            cur.execute(f"INSERT INTO {search_index.FTS_TABLE}({search_index.FTS_TABLE}) "
                        "VALUES ('optimize')")
    t_rebuild = time.perf_counter() - t0
    return {"search_text_s": t_text, "insert_s": t_insert, "rebuild_or_optimize_s": t_rebuild}


QUERIES = [
    "cqxr", "chongqing", "shanghai", "重庆兴瑞", "兴瑞", "瑞", "重慶", "環保設備", "有限公司",
    "xingrui", "zhangwei", "wangfang", "张伟", "王芳", "13800138000", "0013 8000", "+86 139", "023-6532",
    "8000", "info12@", "qq.com", "不存在的客户", "zzzzqx", "环保", "cq", "bj",
]


def run_queries(rounds: int) -> None:
    """Median per query and user; wall-clock and CPU time (the process's own CPU time
    is what a quiet machine would show: other processes' load does not inflate it)."""
    from guanxi.accounts.models import User
    from guanxi.parties.models import Customer
    from guanxi.parties.selectors import search_customers

    # A few names and phones that exist, so "specific" queries have answers.
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = [11, top // 7, top // 3, top // 2, top - 5]
    sample = list(Customer.objects.filter(pk__in=ids).values_list("name", "phone"))
    queries = list(QUERIES) + [n for n, _ in sample] + [p[-8:] for _, p in sample if p]
    who = {u: User.objects.get(username=u) for u in ("admin", "rep7", "manager")}
    wall_all: list[float] = []
    cpu_all: list[float] = []
    print(f"\n{'query':<22}" + "".join(f"{u + ' wall/cpu ms (hits)':>30}" for u in who))
    for q in queries:
        line = f"{q[:20]:<22}"
        for user in who.values():
            wall, cpu = [], []
            for _ in range(rounds):
                w0, c0 = time.perf_counter(), time.process_time()
                found = search_customers(user, q, limit=20)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            wall_all.extend(wall)
            cpu_all.extend(cpu)
            line += (f"{statistics.median(wall):>15.2f} /{statistics.median(cpu):6.2f} "
                     f"({len(found):>2})")
        print(line, flush=True)
    for label, values in (("wall", wall_all), ("cpu", cpu_all)):
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{label}: all queries x users x {rounds} rounds: median "
              f"{statistics.median(values):.2f} ms, p95 {p95:.2f} ms, max {values[-1]:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--load", choices=("triggers", "rebuild"), default="triggers")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default="")
    ap.add_argument("--reuse", action="store_true", help="query an existing --dir database")
    ap.add_argument("--cleanup", action="store_true")
    args = ap.parse_args()
    data_dir = Path(args.dir or tempfile.mkdtemp(prefix="gx-search-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    setup_django(data_dir, os.environ.get("DATABASE_URL"))
    from django.core.management import call_command
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if not args.reuse:
        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        timings = load(args.customers, args.load)
        total = time.perf_counter() - t0
        print(f"loaded {args.customers:,} customers in {total:.1f} s ({args.load}): "
              + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    run_queries(args.rounds)
    if args.cleanup:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
