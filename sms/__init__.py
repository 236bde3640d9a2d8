"""SMS front door: booking codes in, confirmations and notices out, over Twilio and GSM modems (短信挂号)."""
