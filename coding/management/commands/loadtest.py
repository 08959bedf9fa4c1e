"""A bounded load test: simulated researchers browse and code against a running server.

    python manage.py loadtest --url http://127.0.0.1:8000 --users 20 --seconds 60

Run it with the server's own environment (same DATABASE_URL): it adds the simulated researchers
to the demo project (``manage.py load_demo`` first), then each logs in over HTTP and, until the
time or the request budget is spent, opens pages and codes passages like a person would, with a
think time between clicks; about one click in sixteen is a search (a lemma, a phrase, a prefix
or NEAR). It reports p50/p95 latency per action, for pages and coding and for search apart (also
from the moment the last researcher is logged in), and the error count, and removes the codings
it made. Loopback addresses only: this is not a tool to load other hosts.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from coding.models import Coding, Excerpt, Membership, Project, Role, Sentence, Transcript
from coding.offsets import Utf16Map

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The message of a refused form or JSON call, for the error samples.
ERROR_RE = re.compile(r'(?:class="error[^"]*"[^>]*>|"error": ")([^<"]{1,160})')
USER_PREFIX = "lasttest"
LOGIN_ACTIONS = ("login page", "log in")
# What the simulated researchers search for, by kind (words and phrases of the demo study);
# each kind is its own action, "search: lemma" and so on, and search has its own figures.
SEARCH_PREFIX = "search: "
SEARCHES = {
    "lemma": ["bolig", "samarbeid", "NAV", "kompetanse", "startlån"],
    "phrase": ["tildeling av bolig", "kommunal bolig", "samarbeid med"],
    "prefix": ["bolig*", "samarbeid*", "kommun*"],
    "near": ["bolig NEAR/5 nav", "startlån NEAR bostøtte"],
}


@dataclass
class Target:
    project_id: int
    code_ids: list[int]
    # (transcript id, UTF-16 start, UTF-16 end) of sentences to code
    spans: list[tuple[int, int, int]]
    transcript_ids: list[int]
    case_ids: list[int]


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    requests: int = 0
    # (action, when it was sent: time.perf_counter(), seconds) of every request
    log: list[tuple[str, float, float]] = field(default_factory=list)

    def record(
        self, action: str, seconds: float, ok: bool, detail: str = "", sent: float = 0.0
    ) -> None:
        with self.lock:
            self.requests += 1
            self.times[action].append(seconds)
            self.log.append((action, sent, seconds))
            if not ok:
                self.errors[action] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{action}: {detail}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class Researcher(threading.Thread):
    def __init__(
        self,
        base: str,
        username: str,
        password: str,
        target: Target,
        stats: Stats,
        deadline: float,
        budget: Budget,
        think: float,
        seed: int,
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.username, self.password = base, username, password
        self.target, self.stats, self.deadline = target, stats, deadline
        self.budget, self.think = budget, think
        self.random = random.Random(seed)  # noqa: S311 (simulation, not security)
        self.session = requests.Session()
        self.mine: list[int] = []  # excerpts this researcher coded (to remove some again)

    def _call(
        self, action: str, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any
    ) -> requests.Response | None:
        if time.monotonic() > self.deadline or not self.budget.take():
            raise TimeoutError
        started = time.perf_counter()
        try:
            r = self.session.request(
                method, self.base + path, timeout=30, allow_redirects=False, **kw
            )
            good = r.status_code in ok
            shown = ERROR_RE.search(r.text) if not good else None
            detail = f"{r.status_code} {path}" + (f" ({shown.group(1).strip()})" if shown else "")
        except requests.RequestException as exc:
            r, good, detail = None, False, f"{type(exc).__name__} {path}"
        self.stats.record(action, time.perf_counter() - started, good, detail, started)
        return r

    def _post(
        self,
        action: str,
        path: str,
        data: dict[str, Any] | list[tuple[str, Any]],
        ok: tuple[int, ...] = (200,),
    ) -> requests.Response | None:
        headers = {"X-CSRFToken": self.session.cookies.get("csrftoken", "")}
        return self._call(action, "POST", path, ok=ok, data=data, headers=headers)

    def _pause(self) -> None:
        if self.think:
            time.sleep(self.random.expovariate(1 / self.think))

    def run(self) -> None:
        try:
            self._call("login page", "GET", reverse("login"))
            r = self._post(
                "log in",
                reverse("login"),
                {"username": self.username, "password": self.password},
                ok=(302,),
            )
            if r is None or r.status_code != 302:
                return
            while True:
                self._pause()
                self._step()
        except TimeoutError:
            return

    def _step(self) -> None:
        t, rnd = self.target, self.random
        roll = rnd.random()
        if roll < 0.45:
            tid, start, end = rnd.choice(t.spans)
            codes = [rnd.choice(t.code_ids)]
            r = self._post(
                "code a passage",
                reverse("coding:workspace-code", args=[tid]),
                [("start", start), ("end", end), *[("code", c) for c in codes]],
            )
            if r is not None and r.status_code == 200:
                self.mine.append(r.json()["excerpt"])
        elif roll < 0.55 and self.mine:
            excerpt = self.mine.pop(rnd.randrange(len(self.mine)))
            r = self._call(
                "open a passage", "GET", reverse("coding:workspace-excerpt", args=[excerpt])
            )
            if r is not None and r.status_code == 200:
                own = [c["id"] for c in r.json()["codings"] if c["canRemove"]]
                if own:
                    self._post(
                        "remove a coding", reverse("coding:workspace-uncode", args=[own[0]]), {}
                    )
        elif roll < 0.75:
            self._call(
                "open a transcript",
                "GET",
                reverse("coding:transcript-detail", args=[rnd.choice(t.transcript_ids)]),
            )
        elif roll < 0.83:
            self._call("project page", "GET", reverse("coding:project-detail", args=[t.project_id]))
        elif roll < 0.88:
            self._call(
                "case page", "GET", reverse("coding:case-detail", args=[rnd.choice(t.case_ids)])
            )
        elif roll < 0.94:
            self._search()
        else:
            self._browse_analysis()

    def _search(self) -> None:
        """A search as a researcher types one: a lemma, a phrase, a prefix or NEAR."""
        kind = self.random.choice(list(SEARCHES))
        query = self.random.choice(SEARCHES[kind])
        path = reverse("coding:search", args=[self.target.project_id])
        self._call(f"{SEARCH_PREFIX}{kind}", "GET", path, params={"q": query})

    def _browse_analysis(self) -> None:
        pid = self.target.project_id
        if self.random.random() < 0.6:
            try:
                path = reverse("coding:analysis-matrix", args=[pid])
            except NoReverseMatch:
                pass
            else:
                self._call("matrix", "GET", path)
                return
        self._call("history", "GET", reverse("coding:project-history", args=[pid]))


class Budget:
    """The request budget shared by all researchers."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


class Command(BaseCommand):
    help = "Simulated researchers browse and code against a running server; p50/p95 latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument("--max-requests", type=int, default=50_000)
        parser.add_argument("--think", type=float, default=2.0, help="mean pause between clicks")
        parser.add_argument("--project", type=int, help="project id (default: the demo project)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")
        parser.add_argument("--keep", action="store_true", help="keep the codings made")

    def handle(self, *args: Any, **o: Any) -> None:
        base = o["url"].rstrip("/")
        host = urlparse(base).hostname
        if host not in LOOPBACK:
            raise CommandError(f"refusing to load {host!r}: loopback addresses only")
        if not (1 <= o["users"] <= 200) or not (0 < o["seconds"] <= 3600):
            raise CommandError("--users must be 1..200 and --seconds 1..3600")
        target = self._target(o["project"])
        users = self._users(target.project_id, o["users"])
        stats = Stats()
        budget = Budget(o["max_requests"])
        deadline = time.monotonic() + o["seconds"]
        started = time.monotonic()
        threads = [
            Researcher(base, name, pw, target, stats, deadline, budget, o["think"], seed=i)
            for i, (name, pw) in enumerate(users)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(o["seconds"] + 60)
        elapsed = time.monotonic() - started
        report = self._report(stats, elapsed, o["users"])
        if not o["keep"]:
            report["codings_removed"] = self._cleanup(target.project_id)
        if o["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._print(report, stats)
        if report["errors"]:
            raise CommandError(f"{report['errors']} request(s) failed")

    def _target(self, project_id: int | None) -> Target:
        projects = Project.objects.filter(cases__transcripts__isnull=False).distinct()
        if project_id is not None:
            projects = projects.filter(pk=project_id)
        project = projects.order_by("pk").first()
        if project is None:
            raise CommandError("no project with transcripts: run `manage.py load_demo` first")
        transcripts = list(
            Transcript.objects.filter(case__project=project).only("pk", "text", "case_id")
        )
        code_ids = list(project.codebook.codes.values_list("pk", flat=True))
        spans = []
        for t in transcripts:
            umap = Utf16Map(t.text)
            for s, e in Sentence.objects.filter(transcript=t).values_list("start", "end")[:200]:
                if t.text[s:e].strip():
                    spans.append((t.pk, umap.to_u16(s), umap.to_u16(e)))
        if not spans or not code_ids:
            raise CommandError("the project needs transcripts with sentences and codes")
        return Target(
            project_id=project.pk,
            code_ids=code_ids,
            spans=spans,
            transcript_ids=[t.pk for t in transcripts],
            case_ids=sorted({t.case_id for t in transcripts}),
        )

    @transaction.atomic
    def _users(self, project_id: int, n: int) -> list[tuple[str, str]]:
        """Researchers lasttest01.. with a fresh random password each run."""
        user_model = get_user_model()
        out = []
        for i in range(1, n + 1):
            name = f"{USER_PREFIX}{i:02d}"
            password = secrets.token_urlsafe(16)
            user, _ = user_model.objects.get_or_create(username=name)
            user.set_password(password)
            user.save(update_fields=["password"])
            Membership.objects.get_or_create(
                project_id=project_id, user=user, defaults={"role": Role.RESEARCHER}
            )
            out.append((name, password))
        return out

    @transaction.atomic
    def _cleanup(self, project_id: int) -> int:
        mine = Coding.objects.filter(
            coder__username__startswith=USER_PREFIX, tag__codebook__project_id=project_id
        )
        n = mine.count()
        mine.delete()
        Excerpt.objects.filter(
            transcript__case__project_id=project_id, codings__isnull=True, memos__isnull=True
        ).delete()
        return n

    def _report(self, stats: Stats, elapsed: float, users: int) -> dict:
        every = [x for v in stats.times.values() for x in v]
        # Logging in hashes a password on purpose (PBKDF2); it happens once a day, not per click.
        # Search has a goal of its own (1 s), so "pages and coding" are the other clicks.
        work = [
            x
            for a, v in stats.times.items()
            if a not in LOGIN_ACTIONS and not a.startswith(SEARCH_PREFIX)
            for x in v
        ]
        searches = [x for a, v in stats.times.items() if a.startswith(SEARCH_PREFIX) for x in v]
        # The same once everyone is logged in: twenty log-ins at the same second hash twenty
        # passwords at once and the first clicks wait behind them.
        ends = [sent + x for a, sent, x in stats.log if a in LOGIN_ACTIONS]
        after = max(ends, default=0.0)
        steady = [
            x
            for a, sent, x in stats.log
            if sent >= after and a not in LOGIN_ACTIONS and not a.startswith(SEARCH_PREFIX)
        ]
        steady_search = [
            x for a, sent, x in stats.log if sent >= after and a.startswith(SEARCH_PREFIX)
        ]
        actions = {
            action: {
                "requests": len(v),
                "p50_ms": round(statistics.median(v) * 1000, 1),
                "p95_ms": round(percentile(v, 95) * 1000, 1),
                "max_ms": round(max(v) * 1000, 1),
                "errors": stats.errors.get(action, 0),
            }
            for action, v in sorted(stats.times.items())
        }
        return {
            "users": users,
            "seconds": round(elapsed, 1),
            "requests": stats.requests,
            "requests_per_second": round(stats.requests / elapsed, 1) if elapsed else 0,
            "p50_ms": round(statistics.median(every) * 1000, 1) if every else 0,
            "p95_ms": round(percentile(every, 95) * 1000, 1),
            "clicks_p50_ms": round(statistics.median(work) * 1000, 1) if work else 0,
            "clicks_p95_ms": round(percentile(work, 95) * 1000, 1),
            "search_requests": len(searches),
            "search_p50_ms": round(statistics.median(searches) * 1000, 1) if searches else 0,
            "search_p95_ms": round(percentile(searches, 95) * 1000, 1),
            "after_log_ins": {
                "from_second": round(after - min((t for _a, t, _x in stats.log), default=after), 1),
                "clicks": len(steady),
                "clicks_p95_ms": round(percentile(steady, 95) * 1000, 1),
                "searches": len(steady_search),
                "search_p95_ms": round(percentile(steady_search, 95) * 1000, 1),
            },
            "errors": sum(stats.errors.values()),
            "error_samples": stats.samples,
            "actions": actions,
        }

    def _print(self, report: dict, stats: Stats) -> None:
        w = self.stdout.write
        w(
            f"{report['users']} researchers, {report['seconds']} s, {report['requests']} requests "
            f"({report['requests_per_second']}/s): p50 {report['p50_ms']} ms, "
            f"p95 {report['p95_ms']} ms, errors {report['errors']}"
        )
        w(
            f"pages and coding without logging in and search: p50 {report['clicks_p50_ms']} ms, "
            f"p95 {report['clicks_p95_ms']} ms"
        )
        w(
            f"search ({report['search_requests']} requests): p50 {report['search_p50_ms']} ms, "
            f"p95 {report['search_p95_ms']} ms"
        )
        later = report["after_log_ins"]
        w(
            f"after the last log-in (from second {later['from_second']}): pages and coding "
            f"p95 {later['clicks_p95_ms']} ms ({later['clicks']} requests), search p95 "
            f"{later['search_p95_ms']} ms ({later['searches']})"
        )
        heads = ("requests", "p50 ms", "p95 ms", "max ms", "errors")
        w(f"{'action':20s} " + " ".join(f"{h:>8s}" for h in heads))
        for action, a in report["actions"].items():
            w(
                f"{action:20s} {a['requests']:8d} {a['p50_ms']:8.1f} {a['p95_ms']:8.1f} "
                f"{a['max_ms']:8.1f} {a['errors']:7d}"
            )
        for sample in report["error_samples"]:
            w(f"  error: {sample}")
        if "codings_removed" in report:
            w(f"Removed the {report['codings_removed']} codings the simulation made.")
