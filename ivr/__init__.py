"""IVR front door: the phone keypad call flow over Twilio Voice (语音导航挂号)."""
