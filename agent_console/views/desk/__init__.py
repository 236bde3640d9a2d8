"""The agent's desk (挂号值班人员): incoming calls, finding the caller, booking for them."""
