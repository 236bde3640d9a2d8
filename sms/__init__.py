"""SMS front door: booking codes in, notices out, over Twilio and GSM modems (短信挂号)."""
