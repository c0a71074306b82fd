"""How passwords are stored: Argon2id with OWASP's recommended minimum parameters.

Django's default, PBKDF2 with 1,000,000 iterations, costs about 250 ms of CPU per login on one core of
the machines this runs on: it makes every login slow and a flood of logins a cheap way to take the
user service's CPU. Argon2id, the winner of the Password Hashing Competition and OWASP's first choice,
is memory-hard: 19 MiB, 2 passes, 1 lane (OWASP Password Storage Cheat Sheet) resist GPU cracking at
least as well at a few tens of milliseconds. A password stored with an older hasher (PBKDF2) still
works and is re-hashed with this one at its next successful login (Django does that by itself).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idOwaspHasher(Argon2PasswordHasher):
    algorithm = "argon2"  # the same encoded format: Django reads the parameters from each hash
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
