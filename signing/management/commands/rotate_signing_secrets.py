"""Re-encrypt the stored key passphrases and PINs with the newest key-encryption key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from signing.signers import SignerError, rotate_secrets


class Command(BaseCommand):
    help = ("Re-encrypt stored key secrets with the newest key-encryption key "
            "(SIGNING_KEK or SIGNING_KEK_FILE); also moves secrets encrypted by earlier "
            "releases with a key derived from SECRET_KEY.")

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true",
                            help="first add a new random key at the top of SIGNING_KEK_FILE")
        parser.add_argument("--drop-old", action="store_true",
                            help="afterwards keep only the newest key (when all succeeded)")

    def handle(self, *args, new_key: bool, drop_old: bool, **options):
        try:
            result = rotate_secrets(new_key=new_key, drop_old=drop_old)
        except SignerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"re-encrypted: {result.rotated}; keys kept: {result.keys_kept}")
        if result.unreadable:
            raise CommandError(f"cannot decrypt the secrets of signing keys {result.unreadable}"
                               "; old keys kept")
