"""Development only: the development PKI (a CA, staff and school certificates on SoftHSM2
tokens) and stand-in OCSP, CSC and TSA servers. Production keys come from settings
(`signing/config.py`), never from here."""
