"""E-mail intake: what becomes of a message read from a mailbox (a new complaint to register, a customer's reply
to their case, an auto-reply or bounce to ignore), each message once. The mailbox and the MIME parsing are the
adapter's (app/intake.py); the rules are here."""
