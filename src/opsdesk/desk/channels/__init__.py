"""Ways contacts arrive and replies leave: email, chat, phone, social, web form."""
