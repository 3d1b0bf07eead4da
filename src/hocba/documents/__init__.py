"""The printable view (bản thể hiện): PDF/A-3 drawn from the signed XML, QR code, PAdES seal,
verification of sealed PDFs."""
