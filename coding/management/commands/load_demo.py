import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.management import demo
from coding.models import Project


class Command(BaseCommand):
    help = "Load the demo study (codebook, cases, informants, synthetic transcripts, codings)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo project first.")
        parser.add_argument("--no-transcripts", action="store_true")
        parser.add_argument(
            "--new-passwords",
            action="store_true",
            help="Give every demo user a new password (e.g. when .demo-passwords was lost).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        study_name = demo.json.loads(demo.STUDY.read_text(encoding="utf-8"))["project"]["name"]
        existing = Project.objects.filter(name=study_name).first()
        if existing and opts["reset"]:
            existing.delete()
            existing = None
        users = demo.ensure_users(new_passwords=opts["new_passwords"])
        stored = demo.remember_passwords({u: pw for u, (_user, pw) in users.items() if pw})
        if existing:
            self.stdout.write(f"The demo project exists already (id {existing.pk}).")
        else:
            started = time.perf_counter()
            project = demo.create_study(users)
            words = codings = 0
            if not opts["no_transcripts"] and demo.MANIFEST.exists():
                manifest = demo.load_manifest()
                coders = {
                    key: users[username][0] for username, _n, _r, key in demo.DEMO_USERS if key
                }
                for entry in manifest["transcripts"]:
                    if not (demo.TRANSCRIPTS / entry["file"]).exists():
                        raise CommandError(f"missing fixture file {entry['file']}")
                    t = demo.import_transcript(project, entry, users["eier"][0], manifest["note"])
                    words += t.word_count
                    codings += demo.apply_codings(project, t, entry, coders)
                    self.stdout.write(f"  {entry['file']}: {t.word_count} words")
            elapsed = time.perf_counter() - started
            wpm = words / (elapsed / 60) if elapsed else 0
            self.stdout.write(
                f"Loaded the demo project (id {project.pk}): {words} words, {codings} codings "
                f"in {elapsed:.1f} s ({wpm:,.0f} words per minute)."
            )
        self.stdout.write("Demo users (user name, password):")
        unknown = False
        for username, full_name, role, _coder in demo.DEMO_USERS:
            pw = stored.get(username)
            unknown |= pw is None
            self.stdout.write(
                f"  {username:10s} {pw or '(not known)':14s} {role.label} – {full_name}"
            )
        if unknown:
            self.stdout.write(
                f"Some passwords are not in {demo.password_file()}: "
                "run `manage.py load_demo --new-passwords` to set new ones."
            )
