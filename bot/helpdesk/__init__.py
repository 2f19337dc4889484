"""Help requests: phone numbers, urgency rules, filing, linking repeats and statuses."""
