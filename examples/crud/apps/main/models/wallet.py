"""Wallet: one per user, created with the account in the same transaction."""

from mega.plugins.db import BigInt, Decimal, Model, String


class Wallet(Model):
    __table__ = "wallets"
    __timestamps__ = True

    user_id = BigInt(references="users.id", on_delete="cascade", unique=True)
    balance = Decimal(12, 2, default=0)
    currency = String(3, default="USD")
