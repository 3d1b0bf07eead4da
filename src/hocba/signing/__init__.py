"""Digital signatures of the record: the XMLDSig/XAdES profile, signers (PKCS#12 file, PKCS#11
token, remote CSC service), certificates and revocation, batch signing in order, verification."""
