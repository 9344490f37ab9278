"""Hand-written agent and customer turns for ``service_dialogue.tsv`` (CC BY 4.0).

Written for convolab by its authors, in their own words: no sentence is taken or
paraphrased from a dataset. ``compose_service_dialogue.py`` pairs them.

Each block of turns is ``domain| text`` lines. Domains: telecom, bank, travel,
hotel, food, utility, retail, software, insurance, health, public, fitness,
delivery, media; ``any`` fits every domain.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AGENT", "GROUPS", "PAIRS", "Group"]


def _lines(block: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in block.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        domain, _, text = line.partition("|")
        out.append((domain.strip(), text.strip()))
    return tuple(out)


# ----------------------------------------------------------------------------- agent turns
#: kind -> (domain, agent turn). Kinds: open (greeting), ask (asks for a detail), offer
#: (proposes an option), info (gives information), else (anything else?), step (asks the
#: customer to try something), check (did it work?), done (reports an action done), bad
#: (bad news or a refusal), sorry (apology or empathy), wait (hold, transfer, DM), repeat
#: (asks again or did not understand).
AGENT: dict[str, tuple[tuple[str, str], ...]] = {
    "open": _lines("""
        any| Hello, you're through to customer support. How can I help you today?
        any| Hi there! What can I do for you?
        any| Thanks for getting in touch. What can I help with?
        any| Good morning, this is Dana. How may I help?
        any| Hi, thanks for waiting. How can I help?
        any| Hello! You're chatting with our virtual assistant. What do you need help with?
        any| Thank you for calling. Who am I speaking with, and how can I help?
        any| Hi, I'm Marco from the support team. What brings you here today?
        telecom| Welcome to Swiftnet support, how can I help you today?
        bank| Thank you for calling Bluebank. How can I help you with your account today?
        travel| Hello, rail bookings desk, how can I help?
        travel| Welcome to the travel help centre. Are you planning a trip or changing one?
        hotel| Good evening, front desk, how may I help?
        food| Hi, thanks for calling the Olive Tree. How can I help?
        utility| Northwind Energy, good afternoon. What can I do for you?
        retail| Hi! Thanks for contacting ShopRight. What can I help you with?
        software| Hi, welcome to the help centre chat. What seems to be the issue?
        insurance| Good morning, claims and policies, how can I help?
        health| Hello, Riverside Clinic reception. How can I help you?
        public| Council services, how can I help today?
        fitness| Hi, thanks for contacting the club. How can we help?
        delivery| Hello, parcel services. Do you have a tracking number?
        media| Hi, thanks for reaching out to our subscriptions team. What can I do for you?
    """),
    "ask": _lines("""
        any| Could I have your account number, please?
        any| Can you confirm your full name and date of birth?
        any| What's the email address on the account?
        any| Could you tell me the postcode on the account?
        any| Which phone number is linked to your account?
        any| Can I take a reference number for that?
        any| Could you give me the last four digits of the card?
        any| What would you like me to update?
        telecom| Which device are you using?
        telecom| What's the model of your router?
        bank| Is this about a personal or a business account?
        bank| Which card is it, the debit card or the credit card?
        travel| What date would you like to travel?
        travel| Where will you be departing from?
        travel| How many passengers are travelling?
        travel| Would you like a single or a return?
        hotel| How many nights will you be staying?
        hotel| How many guests will there be?
        food| For how many people, and at what time?
        food| What name should I put the reservation under?
        utility| Could you read me the numbers on your meter?
        retail| What's your order number?
        retail| Which size would you like?
        software| Which version of the app are you on?
        software| What error message do you see, exactly?
        insurance| What's your policy number?
        insurance| When did the incident happen?
        health| Which doctor would you like to see?
        health| Is this for a new appointment or an existing one?
        public| What's the address of the property?
        fitness| Which membership are you on at the moment?
        delivery| What's the tracking number on the parcel?
        media| Which plan are you subscribed to?
    """),
    "offer": _lines("""
        any| I can offer you a callback tomorrow between 9 and 11. Would that suit you?
        any| Would you like me to email you a copy of that?
        telecom| I can move you to the unlimited plan for 25 a month. Shall I do that?
        telecom| There's an engineer slot on Thursday morning. Would you like it?
        bank| I can send a replacement card to your home address. Would you like that?
        bank| I can set up a payment plan over three months. Would that help?
        travel| There's a 10:15 train arriving at 12:40. Shall I book it?
        travel| I can put you on the evening flight instead, at no extra charge.
        travel| An aisle seat is available for 12 extra. Would you like it?
        hotel| We have a double room with breakfast for 140 a night. Would you like me to reserve it?
        hotel| I can offer a late checkout at 1pm. Would that help?
        food| We have a table at 7:30 or at 9. Which would you prefer?
        utility| I can book a smart meter installation for next week. Shall I go ahead?
        retail| I can offer a full refund or an exchange. Which would you prefer?
        retail| Would you like me to arrange a free return pickup?
        software| I can reset your password and send a link to your email. Okay?
        insurance| I can add the new driver from today. Do you want me to proceed?
        health| Dr. Patel has an opening on Monday at 10. Would that work?
        public| I can book the bulky waste collection for Friday. Does that suit?
        fitness| We can freeze your membership for up to two months. Interested?
        delivery| I can redeliver on Saturday or you can collect it from the depot.
        media| I can switch you to the annual plan and save you two months. Shall I?
    """),
    "info": _lines("""
        any| Your current balance is 48.20, due on the 15th.
        any| The change will take effect from your next billing date.
        telecom| Your contract ends in March, after that you can change plan freely.
        bank| The transfer was sent on Monday and usually takes one working day.
        travel| The train leaves from platform 4 at 8:05.
        travel| Checked baggage is included up to 23 kilos.
        hotel| Check-in is from 3pm and breakfast is served until 10.
        food| Our kitchen closes at 10, and we do have vegetarian options.
        utility| Your direct debit is 62 a month, reviewed every six months.
        retail| Your order was dispatched yesterday and should arrive in 2 to 3 days.
        software| The new version will be released next week.
        insurance| Your excess on this policy is 250.
        health| Please arrive ten minutes early and bring your insurance card.
        public| Collections in your area are on Wednesdays.
        fitness| The pool is open from 6am to 9pm on weekdays.
        delivery| The courier's window is between 1pm and 5pm today.
        media| Your subscription renews automatically on the 3rd of each month.
    """),
    "else": _lines("""
        any| Is there anything else I can help you with today?
        any| Can I help you with anything else?
        any| Anything more I can do for you?
        any| Is there something else you'd like to check while I have you?
        any| Will that be all for today?
        any| Was there anything else?
        any| Okay, that's all updated. Anything else on your mind?
        any| Great. Is there anything further I can help with?
        travel| Your booking is complete. Do you need a taxi or anything else?
        hotel| You're all set. Can I help with anything else for your stay?
        food| Your table is booked. Anything else I can do for you?
    """),
    "step": _lines("""
        telecom| Could you restart the router and tell me when the lights come back on?
        telecom| Please switch your phone off and on again, then try calling.
        telecom| Can you unplug the cable from the wall socket and plug it back in?
        software| Please log out, clear the app's cache and log in again.
        software| Could you try updating the app to the latest version?
        software| Try reinstalling the app, then sign in with the same account.
        software| Please open the settings page and select 'sync now'.
        bank| Please try the payment again in a few minutes.
        bank| Could you try resetting your PIN in the app?
        utility| Could you check whether the trip switch in your fuse box is down?
        retail| Please try entering the discount code again without spaces.
        media| Please sign out on the TV and sign back in with your email.
        fitness| Please hold your card flat against the reader for two seconds.
        delivery| Could you check with your neighbours in case it was left with them?
        any| Could you try that again and let me know what happens?
    """),
    "check": _lines("""
        any| Did that fix it?
        any| Is it working now?
        any| Has that solved the problem?
        any| Can you see it now?
        any| Did the email arrive this time?
        any| Does it work on your side now?
        telecom| Is the light green now?
        software| Can you log in now?
        bank| Did the payment go through this time?
        media| Is the video playing now?
    """),
    "done": _lines("""
        any| That's done for you now.
        any| I've updated your details.
        any| I've sent you a confirmation email just now.
        any| I've passed this on to the right team and they'll be in touch.
        telecom| I've applied a credit of 15 to your account for the outage.
        telecom| Your new SIM is on its way and should arrive in two days.
        bank| I've cancelled the old card and ordered a new one.
        bank| The refund has been processed; it will show in 3 to 5 working days.
        travel| Your booking is confirmed, reference KT4471.
        travel| I've moved your flight to Friday at no charge.
        hotel| Your room is booked for two nights from the 14th.
        food| You're booked for four people at 8pm on Saturday.
        utility| I've logged the meter reading and your bill will be updated.
        retail| Your refund has been issued to your original payment method.
        retail| I've arranged a replacement, it ships today.
        software| I've reset your password; check your inbox for the link.
        insurance| Your claim has been registered, reference CL-2207.
        health| You're booked with Dr. Okafor on Tuesday at 2:30.
        public| Your collection is booked for Friday.
        fitness| Your membership is frozen from the 1st.
        delivery| The redelivery is scheduled for Saturday morning.
        media| Your plan has been changed and you won't be charged this month.
    """),
    "bad": _lines("""
        any| Unfortunately I can't do that over the phone.
        any| I'm afraid that isn't something we can offer.
        any| I'm sorry, but that request was declined.
        telecom| Unfortunately the earliest engineer visit is next Friday.
        telecom| I'm afraid there's a fault in your area and no fix time yet.
        telecom| Leaving before the end of the contract has a fee of 120.
        bank| I'm afraid the fee can't be refunded.
        bank| The payment was returned because of a mismatch in the details.
        travel| Unfortunately that train is fully booked.
        travel| I'm sorry, your flight has been cancelled due to the weather.
        travel| Changing the ticket will cost 45 plus the fare difference.
        hotel| I'm sorry, we're fully booked on those dates.
        food| I'm sorry, we have nothing available before 9:30.
        utility| There will be a scheduled outage on your street tomorrow from 9 to 5.
        utility| Your direct debit has gone up to 95 a month.
        retail| I'm sorry, that item is out of stock until next month.
        retail| The return window closed last week, so I can't accept it.
        software| That feature isn't available on your plan.
        software| I'm sorry, our servers are down and we don't have an estimate yet.
        insurance| I'm sorry, your claim was not approved.
        health| The next available appointment is in three weeks.
        public| Missed collections can only be reported after 48 hours.
        fitness| Cancelling during the minimum term costs two months' fees.
        delivery| The parcel was returned to the sender after two failed attempts.
        media| That title is no longer available in your region.
    """),
    "sorry": _lines("""
        any| I'm really sorry about that. Let me look into it.
        any| I understand how frustrating that must be.
        any| I apologise for the inconvenience.
        any| Sorry to hear that! Let's get it sorted.
        any| I'm sorry you've had this experience.
        any| Thanks for your patience, and sorry for the trouble.
        any| I hear you, that's not the service we want to give.
    """),
    "wait": _lines("""
        any| Please hold while I check that for you.
        any| Let me transfer you to the right department.
        any| Please send us a direct message with your account details.
        any| Give me a moment to look that up.
        any| I'll need to escalate this. Someone will contact you within 48 hours.
        any| Could you bear with me for a couple of minutes?
        any| One of our specialists will call you back.
    """),
    "repeat": _lines("""
        any| Sorry, could you repeat that?
        any| I didn't quite catch that. Could you say it again?
        any| Sorry, I'm not sure I understood. What do you mean?
        any| Could you spell that for me?
        any| Just to confirm, you said the 14th?
        any| Can you give me a bit more detail?
    """),
}


@dataclass(frozen=True)
class Group:
    """Customer turns that do the same thing in a conversation, and their labels."""

    name: str
    labels: tuple[str, ...]
    #: Kinds of agent turn (keys of :data:`AGENT`) these turns can answer.
    kinds: tuple[str, ...]
    turns: tuple[tuple[str, str], ...]
    #: Channels to draw from, or one fixed channel.
    channels: tuple[str, ...] = ("chat", "chat", "phone", "email", "social")
    channel: str | None = None
    #: Share written with no context (a conversation's first message).
    alone: float = 0.0
    #: Share given its channel's surface (see ``compose_service_dialogue.py``).
    restyle: float = 0.3


def G(name: str, labels: str, kinds: str, block: str, **kw: object) -> Group:  # noqa: N802
    return Group(
        name, tuple(labels.split(",")), tuple(kinds.split(",")), _lines(block), **kw  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------------------- neutral
REQUESTS = G("request", "neutral", "open", """
    food| I'd like to reserve a table for four on Friday evening.
    food| Can I book a table for two at half seven tonight?
    food| I want to order two large pizzas for delivery, please.
    food| I'd like to change my booking from 6 people to 8.
    food| Could I get the vegetarian menu sent over?
    food| I need to cancel my reservation for tomorrow night.
    food| We'd like a table outside if you have one.
    hotel| I'd like a double room for three nights from the 12th.
    hotel| I want to book a room close to the station, nothing fancy.
    hotel| I need a twin room for next weekend, two adults.
    hotel| Could I add breakfast to my booking?
    hotel| I'd like to arrive a day earlier than planned.
    hotel| I'm looking for a place to stay in the centre with free parking.
    travel| I'd like a return ticket to Leeds for Saturday.
    travel| I need a train that gets to Bristol before 10am.
    travel| I want to change my flight to the following Monday.
    travel| I'd like to add a checked bag to my booking.
    travel| Can you book me a taxi to the airport at 6 tomorrow morning?
    travel| I'm looking for a flight to Lisbon in the first week of June.
    travel| I'd like two seats together on the 9:40 to Glasgow.
    travel| I need to get from the museum to the hotel, could you book a cab?
    travel| I'd like to upgrade to first class on my return journey.
    telecom| I'd like to upgrade my phone, my contract is nearly up.
    telecom| I want to add another line to my account for my son.
    telecom| I need a new SIM card, I lost my phone.
    telecom| I'd like to switch to a plan with more data.
    telecom| I want to set up a payment by direct debit.
    telecom| I'd like to port my number from my old provider.
    bank| I'd like to order a new debit card, mine is worn out.
    bank| I want to set up a standing order for my rent.
    bank| I need to change the address on my account.
    bank| I'd like to increase my daily transfer limit.
    bank| I want to open a savings account for my daughter.
    bank| I'd like a statement for the last three months.
    bank| I need to report a change of surname after my wedding.
    utility| I'd like to give you a meter reading.
    utility| I want to move my energy account to my new address.
    utility| I need to set up water for a new property.
    utility| I'd like to switch to paperless bills.
    utility| I want to change the date my direct debit goes out.
    retail| I'd like to return a jacket that doesn't fit.
    retail| I want to exchange these shoes for a size 9.
    retail| I need to change the delivery address on my order.
    retail| I'd like to order the blue one instead of the grey.
    retail| I want to use a gift card for my order.
    retail| I'd like to know when the lamp will be back in stock.
    software| I'd like to add two more users to our team plan.
    software| I need to reset my password.
    software| I want to export all my data to a spreadsheet.
    software| I'd like to change the email on my account.
    software| I need an invoice for our last payment with our VAT number on it.
    software| I want to turn off the weekly summary emails.
    insurance| I'd like to add my partner as a named driver.
    insurance| I need to make a claim for a cracked windscreen.
    insurance| I want to update my car registration on the policy.
    insurance| I'd like a quote for contents insurance.
    health| I'd like to book an appointment with Dr. Lee.
    health| I need to move my appointment to next week.
    health| I want to order a repeat prescription.
    health| I'd like to register as a new patient.
    public| I'd like to book a bulky waste collection.
    public| I need to apply for a parking permit.
    public| I want to report a broken street light on Elm Road.
    public| I'd like to pay my council tax by instalments.
    fitness| I'd like to book a spin class for Thursday.
    fitness| I want to bring a guest to the gym on Saturday.
    fitness| I need to update my card details for the membership.
    delivery| I'd like to rearrange a delivery for Monday.
    delivery| I want my parcel left with my neighbour at number 12.
    delivery| I need to send a package to Spain, what are my options?
    media| I'd like to add a second screen to my subscription.
    media| I want to switch to the plan without ads.
    media| I'd like to download my receipts for this year.
    any| Yes, I need some help with my account please.
    any| I'm calling to update my phone number.
    any| I need to speak to someone about my last invoice.
    any| I'd like to know the status of my request from last Tuesday.
    any| I want to check my details are up to date.
    any| I'm looking for the form to change my billing address.
    any| I'd like to make a payment please.
    any| Please could you send me a copy of my contract.
    any| I want to book a time for someone to come out.
    any| I need to update the card you have on file.
    any| I'd love to get my booking moved to the afternoon if possible.
    any| I'd really like a window seat if there is one.
    any| I want the cheapest option, please.
    any| Could you put it on the card ending 4432?
""", alone=0.35)

DETAILS = G("details", "neutral", "ask,repeat", """
    any| It's 44817320.
    any| My account number is 5521 0093.
    any| Sure, it's jamie.ross@example.com.
    any| The postcode is LS6 2QB.
    any| My date of birth is the 4th of July 1986.
    any| It's the one ending in 7781.
    any| The name is Amara Okoye, O-K-O-Y-E.
    any| The reference is KT-55812.
    any| It's 07700 900123.
    any| It's under my wife's name, Helen Brooks.
    any| Flat 3, 19 Mill Lane.
    any| I think it's 2281, let me double check. Yes, 2281.
    any| It should be my work email, the one ending in example.org.
    any| Personal account.
    any| The debit card.
    telecom| An iPhone 13.
    telecom| It's the grey router, model HX200.
    travel| The 14th of March.
    travel| From Manchester Piccadilly.
    travel| Two adults and one child.
    travel| A return, coming back on Sunday.
    travel| Just one way, please.
    hotel| Three nights.
    hotel| Two of us.
    food| Six people at 8 o'clock.
    food| Under Fernandez.
    utility| It reads 04512, and the night one is 01277.
    retail| The order number is 300-4418-22.
    retail| Medium, please.
    software| Version 5.2 on Android.
    software| It says 'sync failed, code 403'.
    insurance| Policy number HX-44120.
    insurance| Last Thursday evening.
    health| Dr. Lee, if possible.
    health| A new one.
    public| It's 27 Ashgrove Avenue.
    fitness| The off-peak one.
    delivery| The tracking number is 9X22 4410 7.
    media| The family plan.
    any| Yes, that's correct.
    any| No, it's the other address, the one in Leeds.
    any| That's right, the 14th.
    any| Yes, that's me.
    any| Yep, that's the one.
    any| Correct.
    any| Yes, all of that is right.
    any| Hmm, let me find it. It's on the letter somewhere. Okay, 6610.
    any| I'll spell it: S-Z-A-B-O.
    any| Let me think, I believe it was early May.
    any| I don't have the number with me, can you use my postcode instead?
""")

CONFIRM = G("confirm", "neutral", "offer,info,done", """
    any| Yes, go ahead.
    any| Okay, please do that.
    any| Sure, book it.
    any| Yes please, the earlier one.
    any| Alright, let's do that.
    any| That's fine.
    any| Okay.
    any| Ok, noted.
    any| Understood.
    any| Right, got it.
    any| Yes, send it to my email please.
    any| Fine, the morning slot then.
    any| The second option, please.
    any| Let's go with the refund.
    any| Okay, I'll wait for the email.
    any| Yes, that works for me.
    any| Sounds fine, go ahead and book it.
    any| Okay, and how long will that take?
    any| Alright, I'll keep an eye out for it.
    any| Yes, please arrange the pickup.
    any| Okay, I'll do that now.
    any| Sure, Thursday morning is fine.
    any| Yes please, put me on the evening one.
    any| No, the 7:30 is better.
    any| I'll take the double room then.
    any| Let me check with my partner and call back.
    any| Okay, I'll pay the difference.
    any| Mm-hm, yes.
    any| Yes, the one with breakfast please.
    any| Okay, I'll collect it from the depot.
    any| Please go ahead and freeze it.
    any| Yes, I'd like the annual plan.
    any| Okay, noted, platform 4.
    any| Ah okay, so it arrives Thursday.
    any| Right, so I just need to bring my card.
    any| I see, so the fee is already included.
""")

POLITE = G("polite", "neutral", "ask,repeat,offer,info,bad", """
    travel| Sorry, I meant the Tuesday, not the Monday.
    travel| Oh sorry, I said Leeds but I meant York.
    any| Sorry, could you say that again?
    any| Apologies, I gave you the wrong number. It's 4471.
    any| Sorry, I didn't catch the last part.
    any| Excuse me, what was the reference again?
    any| Sorry to bother you again, I have one more question.
    any| I'm sorry, I'm not very good with computers.
    any| Sorry, my mistake, it's the other card.
    any| Sorry, I was on mute.
    any| Sorry, the line is a bit bad, could you repeat the price?
    any| Pardon? I missed that.
    any| Sorry, one moment, let me grab a pen.
    any| Sorry, just to be clear, is that per night?
    any| Apologies for the late reply.
    hotel| I'm afraid that's a bit over our budget. Do you have anything cheaper?
    hotel| I'm afraid we won't arrive until after midnight. Is that ok?
    travel| I'm afraid that's too late for me, is there an earlier train?
    travel| I'm afraid I can't make Friday. What about Saturday?
    food| I'm afraid 9:30 is too late for us, thank you anyway.
    telecom| I'm afraid I don't know the model, it's the one you sent me.
    health| I'm afraid I work on Mondays, is there anything on a Wednesday?
    any| I'm afraid I don't have my account number to hand.
    any| I'm afraid that doesn't work for me. Any other options?
    any| I'm afraid I don't remember which email I used.
    any| I'm not sure, I'd have to check.
    any| Hmm, I don't think so.
    any| I'd rather not give my card details over chat.
    any| Would you mind sending that by email instead?
    any| If it's not too much trouble, could you check the other date as well?
    any| Please, call me Sam.
    any| Hang on a second, my dog is barking.
    any| Sorry, I'm driving, can I call you back in ten minutes?
    any| Ah sorry, that was my fault, I typed it wrong.
    any| Oops, wrong order number. The right one is 300-4419-10.
    any| Forgive me, I've forgotten your name.
""")

QUESTIONS = G("question", "neutral", "open,info,done,offer", """
    any| What time do you open on Saturdays?
    any| How much is the monthly fee?
    any| Do you deliver on Sundays?
    any| Is there parking nearby?
    any| What's the address of the nearest branch?
    any| How long does a refund usually take?
    any| Can I pay by bank transfer?
    any| Is VAT included in that price?
    any| When will I receive the confirmation?
    any| Do I need to print the ticket?
    any| Which documents should I bring?
    any| Can I change it online later?
    any| How do I update my address?
    any| What's the cancellation policy?
    any| Is there a student discount?
    any| Does the room have a kettle?
    any| Is the restaurant wheelchair accessible?
    any| What's the check-out time?
    any| How many stops does the train make?
    any| Is there wifi on board?
    any| What's the reference number for that?
    any| Could you tell me the total with the bags?
    any| Will I get an email receipt?
    any| Do I need to be home for the installation?
    any| How long is the contract?
    any| What's the difference between the two plans?
    any| Can I bring my dog?
    any| Which platform does it leave from?
    any| Is breakfast included?
    any| How far is the hotel from the station?
    any| Do you have anything in a size 10?
    any| What are your phone lines' opening hours?
    any| Can I get a copy of the invoice?
    any| How do I add my partner to the account?
    any| Where do I find my customer number?
    any| Is it possible to pay in two parts?
    any| What's the phone number of the hotel?
    any| And what's the postcode there?
    any| How much would a taxi to the centre be?
    any| Does the price include insurance?
    any| What kind of food do they serve?
    any| Which area of town is it in?
    any| Is there a charge for that?
    any| How long will the engineer need?
    any| Will my number stay the same?
    any| When is the next train after that one?
    any| How early should I arrive?
    any| Can I keep my current email address?
    any| And the arrival time?
    any| What's the travel time?
""", alone=0.3)

CLOSINGS = G("closing", "neutral", "else", """
    any| No, that's everything.
    any| No, nothing else.
    any| That's all for today.
    any| Nope, I'm all set.
    any| No, that covers it.
    any| Nothing else, bye.
    any| That's it, bye.
    any| No, I think that's it.
    any| That was all I needed.
    any| No, you've answered everything.
    any| I'm good, bye now.
    any| No, that's fine, goodbye.
    any| Not right now, bye.
    any| No. Bye.
    any| Nah, that's it.
    any| No, I'm done. Bye.
    any| Nothing more, have a good day.
    any| That's everything, have a nice evening.
    any| No, all good.
    any| I think I have what I need.
    any| That should be it then.
    any| Okay, bye.
    any| No, that's all I wanted to check.
    any| All sorted, bye.
    any| No, I'll call back if anything comes up.
""")

CLOSINGS_THANKS = G("closing_thanks", "gratitude", "else,done", """
    any| No, that's everything, thanks.
    any| That's all, thank you.
    any| No, thanks, that's it for now.
    any| Nothing else, thanks for your help.
    any| No thank you, goodbye.
    any| That's it, thanks very much.
    any| No, I'm fine, thanks. Bye.
    any| Thanks, that's all I needed.
    any| Great, thank you, bye.
    any| Okay thanks, have a good day.
    any| Thank you, goodbye.
    any| Thanks for that, bye.
    any| Cheers, that's all.
    any| No, you've been very helpful, thanks.
    any| Okay, thank you so much.
    any| Thanks, that sorts it.
    any| Thank you, that's all for today.
    any| Perfect, thanks. Bye.
    any| Thanks a lot, take care.
    any| That's brilliant, thank you.
    any| Thanks again, bye.
    any| Lovely, thanks.
    any| Okay, thanks for letting me know.
    any| Ok thank you, I'll wait for the email then.
    any| Thank you for checking.
""")

NEUTRAL_ISSUES = G("issue_intro", "neutral", "open", """
    any| I'm calling about my last bill.
    any| I have a question about a payment I made yesterday.
    any| I've moved house and need to update things.
    any| I got a letter from you and wanted to check what it means.
    any| My daughter set up the account and I need to take it over.
    any| I'm going abroad next month and want to know about roaming.
    telecom| I'm thinking of changing my broadband package.
    bank| I'm getting married and changing my name.
    travel| We're planning a trip to Edinburgh in August.
    hotel| We're coming for a conference and need somewhere to stay.
    food| It's my mum's birthday next week and I want to plan a dinner.
    software| We're a small team of five and are looking at your business plan.
    insurance| I've bought a new car and need to insure it.
    health| I'm new to the area and need to find a dentist.
    public| I've just moved into the borough.
    fitness| I'm interested in joining the gym.
    delivery| I'm sending a birthday present to my nephew in Dublin.
    media| My kids want to watch cartoons and I'm not sure which plan to get.
    any| I'm following up on the email you sent me on Monday.
    any| Just checking in on my application.
""", alone=0.5)

# ----------------------------------------------------------------------------- negative
REPORTS = G("report", "disappointment", "open", """
    telecom| My internet has been down since this morning.
    telecom| I have no signal at home anymore.
    telecom| My phone bill has a charge I don't recognise.
    telecom| The broadband keeps dropping every evening.
    telecom| The router light is flashing red and nothing connects.
    telecom| My new phone arrived with a cracked screen.
    bank| My card was declined at the supermarket even though I have money.
    bank| A payment left my account twice.
    bank| I can't log in to online banking, it says my details are wrong.
    bank| The money I transferred on Friday still hasn't arrived.
    travel| My train was cancelled and I'm stuck at the station.
    travel| My suitcase didn't arrive with my flight.
    travel| The booking confirmation never came through.
    travel| My flight was delayed by four hours and I missed my connection.
    hotel| The room we were given is not the one we booked.
    hotel| The heating in our room doesn't work.
    food| Our order came without the drinks.
    food| The delivery was cold when it arrived.
    food| We were charged for a dessert we didn't have.
    utility| The power's gone off in our whole building.
    utility| My bill is much higher than usual and my usage hasn't changed.
    utility| There's no hot water since the engineer's visit.
    utility| I was charged an estimated amount even though I sent a reading.
    retail| My parcel says delivered but it isn't here.
    retail| The item I received is the wrong colour.
    retail| Half of my order is missing.
    retail| The coat arrived with a torn pocket.
    retail| I returned the shoes three weeks ago and have no refund yet.
    software| The app crashes as soon as I open it.
    software| I can't log in since the update.
    software| My files aren't syncing between my laptop and phone.
    software| The export button does nothing.
    software| Our invoices show the wrong company name.
    insurance| My claim has been open for a month with no update.
    insurance| My renewal price has nearly doubled.
    health| My prescription wasn't ready when I went to collect it.
    health| I turned up for my appointment and they had no record of it.
    public| My bins weren't collected this week.
    public| The pothole I reported is still there.
    fitness| The booking app won't let me reserve classes.
    fitness| I was charged twice for this month's membership.
    delivery| My parcel has been stuck at the depot for a week.
    delivery| The driver left my package in the rain.
    media| The video keeps buffering and then stops.
    media| My subscription was renewed even though I cancelled it.
    any| The website shows an error when I try to pay.
    any| I never received the refund you promised.
    any| Nobody called me back yesterday.
    any| The password reset email doesn't arrive.
    any| My order was cancelled and I don't know why.
    any| It won't work at all.
    any| The page won't load.
    any| The code you gave me isn't valid.
    any| I've been charged but the order didn't go through.
    any| I press the button and the screen just stays the same.
""", alone=0.5)

STILL_BROKEN = G("still_broken", "annoyance,disappointment", "check,step,done,info", """
    any| No, it's still not working.
    any| Still the same error.
    any| Nope, nothing has changed.
    any| I did that already, twice.
    any| Still nothing.
    any| It's exactly the same as before.
    any| That didn't help at all.
    any| I tried that yesterday and it made no difference.
    any| No. Same problem.
    any| Still broken.
    any| Nothing. The screen just goes blank again.
    any| No, I still can't log in.
    any| It still says the payment failed.
    any| That's what the last person told me to do and it didn't work.
    any| Restarted it three times, still no luck.
    any| The light is still red.
    any| I've reinstalled it and it still crashes.
    any| The email still hasn't come through.
    any| Still no refund on my statement.
    any| Same thing happens every time.
    any| No, it's worse now, it won't even turn on.
    any| I've already done all of these steps.
    any| Your instructions don't work.
    any| That's not fixed, it's still charging me.
    any| I followed every step and I'm back where I started.
    any| Still waiting for the engineer.
    any| That link doesn't work either.
    any| The parcel still hasn't moved.
    any| Nope. Still can't see it.
    any| It worked for five minutes and now it's broken again.
""")

REPEATED = G("repeated", "annoyance,disappointment", "open,ask,sorry,wait,info", """
    any| This is the third time I've contacted you about this.
    any| I've called four times this week and it's still not fixed.
    any| I've explained this to three different people already.
    any| I was promised a call back twice and nobody called.
    any| I've been waiting two weeks for a reply.
    any| Every time I ring I get told something different.
    any| This has been going on since January.
    any| I've sent the same documents three times now.
    any| You said it would be fixed by Friday. It's Tuesday.
    any| Still not sorted after three calls and two emails.
    any| I keep getting passed from one department to another.
    any| Last week you told me the refund was on its way. Where is it?
    any| It's been a month and I'm still being billed for the old plan.
    any| I've been on hold for 45 minutes before getting through.
    any| Your colleague said this was resolved. It isn't.
    any| This is the same issue I reported in March.
    any| I've had to chase this every single week.
    any| Another week, another missed delivery.
    any| The engineer didn't turn up again.
    any| I've already given you my account number twice in this chat.
    any| Why do I have to explain everything from the start every time?
    any| Three weeks and no one has looked at my claim.
    any| Again? This happened last month too.
    any| I was told 48 hours. That was ten days ago.
    any| I've reported this outage every day since Monday.
    any| The same charge is back on this month's bill.
    any| I keep being asked to send a DM and then nothing happens.
    any| This is the second replacement that arrived broken.
    any| Each time the chat disconnects I have to start over.
    any| I'm still waiting for the manager to call me back like I was promised.
""", alone=0.3)

ANGER = G("anger", "anger,annoyance", "open,sorry,bad,wait,info", """
    any| This is absolutely ridiculous.
    any| This is unacceptable.
    any| I'm furious, you cut off my service without any warning.
    any| How is this still not fixed?!
    any| You've charged me twice and nobody cares!
    any| I am so angry right now.
    any| Don't tell me to be patient, I've been patient for weeks.
    any| This is the worst service I have ever had.
    any| Stop reading me the script and actually help me.
    any| I'm fed up with being lied to.
    any| You people are impossible to deal with.
    any| Are you serious? Another fee?
    any| WHY IS THIS STILL BROKEN???
    any| I want this sorted today, not next week.
    any| This company is a joke.
    any| I've had enough of this.
    any| How hard can it be to send a refund?!
    any| I took a day off work for the engineer and he never showed up!
    any| That's outrageous, I never agreed to that.
    any| I'm sick of hearing "we're looking into it".
    any| Don't you dare hang up on me again.
    any| You've ruined our holiday.
    any| I want to speak to a manager right now.
    any| Absolutely disgraceful.
    any| Your system is a disaster.
    any| I don't care about your policy, you took my money!
    any| Unbelievable. Just unbelievable.
    any| This is a rip-off.
    any| I'm done being polite about this.
    any| Fix it or I'm going to the ombudsman.
""", alone=0.3)

DISSATISFIED = G("dissatisfied", "disappointment,annoyance", "else,open,sorry,bad,done", """
    any| I'm not happy with how this has been handled.
    any| Honestly I'm very disappointed with the service.
    any| The answer doesn't help me, so I'd like to end my contract.
    any| Please close my account, this hasn't been good enough.
    any| I expected much better from you.
    any| I've been a customer for ten years and this is how I'm treated.
    any| I'm going to switch to another provider.
    any| I want to cancel, this isn't worth the money.
    any| That's not good enough.
    any| I'm really let down by this.
    any| Please cancel my membership, I've had enough.
    any| I'll be taking my business elsewhere.
    any| The repair was poor and I'm not happy about it.
    any| This isn't what I paid for.
    any| Not impressed at all.
    any| I'm disappointed nobody told me sooner.
    any| So that's it? Nothing you can do?
    any| That doesn't solve my problem at all.
    any| I'll be leaving a review about this.
    any| I'd like to make a formal complaint.
    any| I want a refund, the product never worked properly.
    any| It's a shame, I used to like your service.
    any| Well, that's a waste of an afternoon.
    any| I'm not paying for something that doesn't work.
    any| Frankly this has been a terrible experience.
""", alone=0.2)

SARCASM = G("sarcasm", "annoyance", "bad,done,info,sorry,open", """
    any| Great, another outage. Just what I needed.
    any| Oh wonderful, on hold again.
    any| Brilliant. Thanks for nothing.
    any| Love paying for a service that never works.
    any| Fantastic, so my parcel is now in another country.
    any| Wow, a whole 15 credit for three days without internet. Generous.
    any| Oh great, so I get to wait another week.
    any| Perfect, exactly what I wanted to hear. Not.
    any| Sure, because that worked so well last time.
    any| Thanks for the copy and paste reply.
    any| Nice to know my call is important to you. For the last hour.
    any| Oh good, a survey. Because you clearly listen to feedback.
    any| Yeah, the 'quick fix' took two weeks.
    any| Another delay, what a surprise.
    any| Super helpful, thanks.
    any| Wow, great customer service as always.
    any| Can't wait to spend another afternoon on the phone with you.
    any| Well done, you've managed to lose my order twice.
    any| Great job charging me for a cancelled flight.
    any| Amazing how the bill is always right when it's in your favour.
    any| Oh lovely, the app logged me out again.
    any| Fabulous, the 'next day' delivery is on day five.
    any| Just great. Really great.
    any| Cheers for the automated reply, very personal.
    any| So much for 'we'll call you back within the hour'.
    any| Glad to see the price went up while the service went down.
    any| I'm thrilled to be paying for a router that's basically a lamp.
    any| What a lovely way to start my Monday, no internet.
    any| Perfect timing, the outage started right before my exam.
    any| Yeah thanks, very useful. Not.
""", alone=0.3)

WORRY = G("worry", "nervousness", "open,info,bad,wait,done", """
    any| I'm worried my payment didn't go through and I'll be charged a late fee.
    any| I'm a bit anxious because I need this before my flight tomorrow.
    any| What if the parcel doesn't arrive before Christmas?
    any| I'm nervous about giving my card details online.
    any| I'm scared someone has got into my account.
    any| Will my power be cut off if I pay late?
    any| I'm concerned the engineer won't come in time for the move.
    any| I hope this doesn't affect my credit score.
    any| I'm really worried, my mum relies on that phone line.
    any| I'm afraid I'll lose all my photos if I reset it.
    any| I don't want to miss my connection, will I make it?
    any| I'm worried the insurance won't cover the damage.
    any| Is my money safe? I saw a transaction I don't recognise.
    any| I'm panicking a little, the transfer was for my rent.
    any| I'm anxious about the surgery date being moved again.
    any| What happens if I can't pay this month?
    any| I'm stressed, the deadline for the application is Friday.
    any| I just want to make sure nothing goes wrong with the booking.
    any| I'm a bit uneasy about the new contract terms.
    any| I got a strange text asking for my PIN, is it from you?
""", alone=0.3)

SAD = G("sad", "sadness", "open,ask,bad", """
    any| My husband passed away last month and the account is in his name.
    any| We had to cancel the trip because my father is in hospital.
    any| I lost my job, so I can't afford the plan anymore.
    any| It was a gift for my grandmother and she won't get it in time now.
    any| We were really looking forward to this holiday.
    any| My dog died and I need to cancel his insurance.
    any| I'm having a really hard month.
    any| It's been a difficult time for our family.
    any| That's a shame, we were so looking forward to eating there.
    any| Oh no, that was the last one in my size.
""")

# ----------------------------------------------------------------------------- positive
THANKS = G("thanks", "gratitude", "done,info,offer,sorry", """
    any| Thank you so much, that's a huge help.
    any| Thanks, I really appreciate it.
    any| Thank you for sorting that out so quickly.
    any| Many thanks for your help today.
    any| Thanks for being so patient with me.
    any| Thank you, you've been brilliant.
    any| Thanks a million.
    any| Really appreciate you going the extra mile.
    any| Thank you for explaining it so clearly.
    any| Thanks for calling me back.
    any| Cheers, appreciate it.
    any| Thanks for the quick reply!
    any| Thank you, that's very kind.
    any| Much appreciated.
    any| Thanks for your help, have a lovely day.
    any| Thank you, that's really reassuring.
    any| Thanks for keeping me updated.
    any| Thank you for the refund, it arrived this morning.
    any| Thanks so much for fixing it.
    any| Thank you for being honest with me.
    any| Thanks, you saved my weekend.
    any| Big thanks to the engineer who came today.
    any| Thanks for listening.
    any| Thank you for the credit, that's fair.
    any| Thanks, I'll let my wife know.
""", alone=0.15)

PRAISE = G("praise", "admiration,gratitude", "done,info,open", """
    any| You've been fantastic, thank you.
    any| The engineer was excellent, really professional.
    any| Your colleague yesterday was so helpful.
    any| Best customer service I've had in years.
    any| The staff at the hotel were wonderful.
    any| That was incredibly efficient, well done.
    any| You're a star, thank you.
    any| The new app is really well designed.
    any| Amazing service, the parcel came a day early.
    any| Great job, everything works perfectly now.
    any| The driver was lovely and so careful with the boxes.
    any| The food was delicious, compliments to the chef.
    any| Honestly you've restored my faith in call centres.
    any| Impressive, that took less than five minutes.
    any| The nurse was so kind to my dad.
""", alone=0.3)

APPROVAL = G("approval", "approval", "offer,done,info", """
    any| Perfect, that works.
    any| That sounds great.
    any| Yes, that's exactly what I need.
    any| That's a good idea.
    any| Great, let's do that.
    any| Excellent, the 10:15 it is.
    any| That's very reasonable.
    any| Good, that's fair enough.
    any| Lovely, that suits me perfectly.
    any| That's ideal, thanks.
    any| Sounds good to me.
    any| Yes, that's much better.
    any| Great, that's sorted then.
    any| Perfect, I'll take it.
    any| Nice one, that's what I was hoping for.
""")

RELIEF = G("relief", "relief,joy", "done,check,info", """
    any| Oh thank goodness, I was so worried.
    any| Phew, that's a relief.
    any| Finally, it works! Thank you.
    any| Oh that's great news, I thought I'd lost it.
    any| What a relief, I can sleep tonight.
    any| Yes! The light's green now.
    any| It's working! You're a lifesaver.
    any| Oh good, so my money is safe.
    any| Brilliant, I can see it now.
    any| Yay, the payment went through.
    any| Oh fantastic, I was dreading having to call again.
    any| Great, I'm so glad that's sorted.
""")

JOY = G("joy", "joy,excitement", "done,offer,info,open", """
    any| We're so excited about the trip!
    any| I can't wait to try the new phone.
    any| That's wonderful news!
    any| Yay, we got the room with the view!
    any| My son is going to love this.
    any| I'm really happy with the upgrade.
    any| This is our honeymoon, we're thrilled.
    any| So happy it arrived in time for the party.
    any| I'm delighted with how it turned out.
    any| Brilliant, we're all set for Saturday then!
""")

CARING = G("caring", "caring", "sorry,wait,bad,repeat", """
    any| No worries, I can wait.
    any| No problem, take your time.
    any| Don't worry, it's not your fault.
    any| I know you're doing your best.
    any| It's okay, these things happen.
    any| I hope your day gets easier.
    any| Please don't apologise, you've been very kind.
    any| I understand, you must be busy today.
    any| That's alright, I appreciate you trying.
    any| Take care of yourself too.
""")

# ----------------------------------------------------------------------------- ambiguous
CONFUSION = G("confusion", "confusion", "info,done,bad,step,offer", """
    any| Wait, what do you mean it was cancelled?
    any| I don't understand, which button do you mean?
    any| Sorry, I'm confused. Is it 45 or 45 plus the fare?
    any| Hang on, I thought it was already included?
    any| I don't get it, why would the price change?
    any| What does that code mean?
    any| I'm lost, where is the settings page?
    any| That doesn't make sense, I paid on time.
    any| So do I need to send it back or not?
    any| Which email? I have two.
    any| How can it say delivered if I'm holding the empty box?
    any| I'm not sure what you're asking me to do.
    any| Huh? I never ordered a second one.
    any| Why is there a second account in my name?
    any| Is that per person or for the whole table?
    any| I'm confused about which plan I'm actually on.
    any| What's the difference between a hold and a charge?
    any| I don't follow, can you explain that again?
    any| So is my booking confirmed or not?
    any| I don't see that option anywhere.
""")

SURPRISE = G("surprise", "surprise,realization", "info,done,bad", """
    any| Oh really? I had no idea.
    any| Oh, I didn't know that.
    any| Wow, I didn't realise it was that late already.
    any| Oh! So that's why it wasn't working.
    any| Ah, I see now, it was the old card.
    any| Really? It's already been shipped?
    any| Oh, I thought it was free.
    any| Oh right, that explains the charge.
    any| I didn't expect that at all.
    any| Oh, so I had the wrong date all along.
""")

# ----------------------------------------------------------------------------- minimal pairs
#: The same customer words after different agent turns, labelled apart: what makes
#: context worth reading. (domain, customer turn, ((agent turn, labels), ...)).
PAIRS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("any", "No.", (
        ("Is there anything else I can help you with today?", "neutral"),
        ("Would you like a receipt by email?", "neutral"),
        ("Did restarting the router fix it?", "disappointment"),
        ("Has the refund shown up on your statement yet?", "disappointment"),
    )),
    ("any", "No, it isn't.", (
        ("Is this your first time contacting us?", "neutral"),
        ("Is the app working for you now?", "disappointment,annoyance"),
    )),
    ("any", "Great.", (
        ("Your table is booked for 8pm on Saturday.", "approval"),
        ("You're all set, the new card is on its way.", "approval"),
        ("Unfortunately the earliest engineer visit is in two weeks.", "annoyance"),
        ("I'm afraid your parcel has been sent back to the warehouse.", "annoyance"),
    )),
    ("any", "Perfect.", (
        ("I've moved your appointment to Thursday at 10.", "approval"),
        ("Your flight has been cancelled and we can't rebook you until Monday.", "annoyance"),
    )),
    ("any", "Fantastic, thanks.", (
        ("Your refund has been processed today.", "gratitude,approval"),
        ("We've lost your parcel and can't say when we'll find it.", "annoyance"),
    )),
    ("any", "Wow.", (
        ("Good news, your compensation is 340 and it's already paid.", "surprise,joy"),
        ("Leaving early will cost you 250 in fees.", "annoyance,surprise"),
    )),
    ("any", "Really?", (
        ("Your order will actually arrive tomorrow, a day early.", "surprise"),
        ("The price goes up by thirty percent next month.", "annoyance,surprise"),
    )),
    ("any", "That's all.", (
        ("Anything else I can help with?", "neutral"),
        ("Is there anything more you need today?", "neutral"),
    )),
    ("any", "That's all?", (
        ("As compensation we can offer a 5 voucher.", "disappointment,annoyance"),
        ("We can refund the delivery fee for the delay.", "disappointment"),
    )),
    ("any", "Not yet.", (
        ("Have you had a chance to register on the app?", "neutral"),
        ("Has the engineer been in touch since Monday?", "disappointment"),
    )),
    ("any", "Yes, three times.", (
        ("Have you tried restarting it?", "annoyance"),
        ("Have you stayed with us before?", "neutral"),
    )),
    ("any", "It's been a week.", (
        ("How long has the problem been going on?", "annoyance,disappointment"),
        ("How long have you had the new phone?", "neutral"),
    )),
    ("any", "Two hours.", (
        ("How long were you waiting on hold?", "annoyance"),
        ("How long would you like to book the court for?", "neutral"),
    )),
    ("any", "Nothing.", (
        ("What happens when you press the power button?", "disappointment"),
        ("What else can I do for you?", "neutral"),
    )),
    ("any", "Same as before.", (
        ("Did clearing the cache make a difference?", "annoyance,disappointment"),
        ("Which delivery address should we use?", "neutral"),
    )),
    ("any", "Yes.", (
        ("Are you the account holder?", "neutral"),
        ("Shall I book the 7:30 table?", "neutral"),
        ("Is it still showing the same error?", "disappointment"),
    )),
    ("any", "No thanks.", (
        ("Would you like to add travel insurance?", "neutral"),
        ("Can I interest you in our premium plan?", "neutral"),
    )),
    ("any", "Of course it is.", (
        ("I'm afraid the system is down again this morning.", "annoyance"),
        ("Is the account in your name?", "neutral"),
    )),
    ("any", "Okay, thank you.", (
        ("I've sent the confirmation to your email.", "gratitude"),
        ("The technician will arrive between 8 and 12.", "gratitude"),
    )),
    ("any", "Sure.", (
        ("Can I put you on hold for a moment?", "neutral"),
        ("Could you confirm your postcode?", "neutral"),
    )),
)



# ----------------------------------------------------------------------------- more neutral
PROGRESS = G("progress", "neutral", "step,wait,ask", """
    telecom| Okay, it's restarting now.
    telecom| Right, the lights are flashing orange at the moment.
    telecom| I've unplugged it, give me a second.
    software| I'm on the settings page now.
    software| Okay, it's downloading the update.
    software| Done, I've logged out.
    software| It's asking me for a verification code.
    software| I can see the sync button, shall I press it?
    software| Give me a minute, the laptop is slow to start.
    bank| Okay, I'm in the app now.
    bank| It says processing.
    bank| I've entered the new PIN.
    utility| I'm at the fuse box now, which switch is it?
    media| I've signed out on the TV.
    fitness| I'm holding the card on the reader now.
    delivery| I'll ask next door and come back to you.
    any| Okay, one moment.
    any| Alright, doing that now.
    any| Hold on, I'm just finding it.
    any| I've clicked on it, it's loading.
    any| Okay, I've done that. What next?
    any| Just a sec, my screen is loading.
    any| Yes, I can see the form.
    any| It's showing a green tick now.
    any| Okay, I've filled in the form.
    any| I'm typing in the code now.
    any| Sure, I'll wait.
    any| Okay, I've sent the photo.
    any| Right, I'm back.
    any| It's asking whether I want to keep my settings.
""")

EXPLAIN = G("explain", "neutral", "open,ask,repeat", """
    any| I bought it in March and registered it online the same day.
    any| I have two accounts, one personal and one for the business.
    any| My partner usually deals with the bills, but she's away.
    any| The account is in my name but the card is my son's.
    any| I moved in on the 1st and the previous tenant's name is still on the letters.
    any| We use the service for our shop, about twenty customers a day.
    any| I'm calling on behalf of my father, he's next to me.
    any| It's for a work trip, so I'll need a receipt.
    any| I normally pay by direct debit on the 28th.
    any| The device is about two years old.
    any| I use it mostly on my tablet.
    any| There will be three adults and a baby.
    any| We'd arrive around 6 and leave Sunday after lunch.
    any| The order was a gift, so it's going to a different address.
    any| I have the paper copy of the contract here.
    telecom| I'm on the 30GB plan, I think.
    bank| I transferred 200 from my savings on Thursday.
    travel| I booked through your website last week.
    hotel| We're a group of colleagues, so separate rooms please.
    food| One of us is allergic to nuts.
    utility| The meter is in the cupboard under the stairs.
    retail| I ordered the grey sofa and the matching footstool.
    software| We switched from the monthly plan to the yearly one in May.
    insurance| The car was parked outside my house when it happened.
    health| My GP referred me last month.
    public| The property is a flat above a shop.
    fitness| I joined in January on the student rate.
    delivery| It's a small box, about the size of a shoebox.
    media| We have the app on the TV and two phones.
    any| I'm the account holder, yes.
""", alone=0.3)

BOOKING = G("booking", "neutral", "open,offer,info,ask", """
    hotel| Something in the centre would be best, and not too expensive.
    hotel| Do you have anything with a parking space?
    hotel| A quiet room if possible, we're light sleepers.
    hotel| We need it from Friday to Monday.
    food| Somewhere that serves Thai food, near the river ideally.
    food| Any price range is fine.
    food| A table for five at 1pm, please.
    food| Can you check if they have a free table at 8 instead?
    travel| I need to arrive by 11 for a meeting.
    travel| Anything leaving after 5 in the evening.
    travel| The fastest one, please.
    travel| I'll need a car big enough for four suitcases.
    travel| Is there a direct train, or do I have to change?
    travel| I'd prefer a morning flight.
    travel| I need the taxi to pick me up from the hotel.
    any| Could you give me the phone number and the address?
    any| Please book it for three people.
    any| The cheaper one is fine.
    any| Doesn't matter, whichever is closest.
    any| Can you book it and send me the reference?
    any| What's available on the 21st?
    any| Something moderately priced.
    any| I also need somewhere to park.
    any| Then let's try the following day.
    any| Could you find me something similar in another area?
""")

# ----------------------------------------------------------------------------- more negative
LONG_COMPLAINTS = G("long_complaint", "disappointment,annoyance", "open,ask", """
    retail| Hi, I hope you're well. I ordered a kettle two weeks ago and it still hasn't arrived. Could you look into it please?
    bank| Good morning. I've noticed a fee on my statement that I was told would be waived. I'd like it refunded, please.
    telecom| Hello, since the upgrade last Tuesday my connection drops several times an hour. I work from home so this is a real problem.
    software| Hi team, our dashboard hasn't loaded for two days and my whole team is blocked. Can someone look at this urgently?
    travel| Hello, my flight on the 3rd was cancelled and I still haven't received the refund I applied for in the form.
    utility| Hi, I was promised a call back last week about my bill and never heard from anyone. I'd appreciate an update.
    insurance| Dear team, I submitted the photos of the damage a month ago and the claim still shows as pending.
    health| Hello, I've been waiting for my test results for three weeks and nobody can tell me where they are.
    fitness| Hi, I cancelled my membership in writing in May but I'm still being charged every month.
    delivery| Hi, my parcel was marked as delivered yesterday but it's nowhere to be found and my neighbours haven't seen it.
    media| Hello, I've been charged for the premium plan although I downgraded it last month.
    food| Hi, we booked a table for my dad's birthday and when we arrived there was no booking under our name.
    hotel| Good evening, we booked a sea view room and were given a room facing the car park.
    public| Hello, I reported the fly-tipping behind our house three weeks ago and it is still there.
    retail| Hi, the sofa came with one leg missing and the delivery team left before I could check it.
    software| Hello, every time I try to upload a file larger than 10MB the app freezes and I lose my work.
    bank| Hi, my card has been blocked twice this month while I was abroad even though I told you I was travelling.
    telecom| Hi, I'm still being charged for a second line that I asked you to remove in the spring.
    any| I'm sorry to complain, but this is the second time my order has arrived damaged.
    any| I don't mean to be difficult, but I was told this would be fixed by now.
    any| With respect, I've already tried everything on your help page.
    any| I appreciate you're busy, but I've been waiting for an answer since last month.
    any| Thanks for replying, but the problem is still there.
    any| Thanks, but that's not what I asked.
    any| I understand it's not your fault, but I need this resolved today.
""", alone=0.5)

SOCIAL_COMPLAINTS = G("social_complaint", "annoyance,disappointment", "open", """
    telecom| @swiftnet internet down for the third evening in a row. seriously?
    telecom| no signal in the whole town since lunchtime and not a word from @swiftnet
    bank| @bluebank app down on payday, of course
    bank| why does @bluebank keep declining my card when I have money in the account
    travel| @railco 40 min delay and no announcement. again.
    travel| @railco the 7:12 cancelled AGAIN. this is every week now
    travel| sat on the runway for 2 hours and nobody tells us anything
    retail| @shopright where is my order?? it's been 12 days
    retail| @shopright your "next day delivery" is a lie
    software| @acme_help the update broke everything. please fix
    software| app crashing every time I open it since yesterday's update 😤
    delivery| parcel "delivered" but not here. photo shows someone else's door 🙄
    utility| @northwind power cut #4 this month. what am I paying for
    media| buffering buffering buffering. cancelling soon if this continues
    food| 90 minutes for a pizza that arrived cold. never again
    fitness| half the machines at the gym broken for weeks now and no one cares
    any| been on hold for an hour. an HOUR.
    any| still waiting on that refund... week 3
    any| third email, no reply. is anyone there?
    any| thanks for the generic reply, still no solution
    any| not impressed with the service lately 👎
    any| how many times do I need to DM you
    any| the chat bot keeps sending me in circles
    any| worst customer service experience of my life
    any| this is the 5th time I'm asking
""", channel="social", alone=0.8, restyle=0.0)

SOCIAL_POSITIVE = G("social_positive", "gratitude,admiration", "open,done", """
    any| huge thanks to the team for sorting my order so fast 🙌
    any| shoutout to Maria on the help line, absolute star
    any| wow, refund came through in a day. impressed
    any| loving the new app update, much faster now
    any| best delivery driver ever, even rang my bell twice 😂
    any| thanks for the quick fix, back online now
    any| brilliant service today, thank you
    any| you guys are great, problem solved in 5 minutes
    any| really appreciate the help with my booking ❤️
    any| props to the support team, very patient with me
""", channel="social", alone=0.7, restyle=0.0)

FAILED_OUTCOME = G("failed_outcome", "disappointment", "step,check", """
    any| It says the code has expired.
    any| Now it says the account is locked.
    any| The page just keeps spinning.
    any| I get a message saying 'something went wrong'.
    any| It asks me to log in and then sends me back to the start.
    any| The light went green and then red again.
    any| The payment button is greyed out.
    any| It won't accept my card number.
    any| The app closes on its own after a few seconds.
    any| It's not showing in my list.
    any| The video starts and then freezes.
    any| The reader beeps red.
    any| The email went to spam and the link has expired.
    any| It shows zero balance, which can't be right.
    any| My neighbours don't have it either.
""")


# ----------------------------------------------------------------------------- more of each
MORE_REQUESTS = G("request_more", "neutral", "open,info", """
    any| Can you find me something for Thursday afternoon?
    any| I'm after a quote for the bigger package.
    any| Looking to move my payment date to the 1st.
    any| Please help me change my password.
    any| Could you check whether my payment arrived?
    any| I'd like to speak with someone about my bill, please.
    any| Can you tell me what my balance is?
    any| Please remove the extra line from my plan.
    any| Could you resend the confirmation email?
    any| I'd like to pay the full amount now.
    any| Can I upgrade without changing my number?
    any| I need a receipt for my records.
    any| Could you arrange for the engineer to call before coming?
    any| I'd like my statements in large print, please.
    any| Please put a note on my account that I'm away in July.
    any| I want to book a delivery slot for next week.
    any| Could you look up my order from last Friday?
    any| I'd like to change my tariff to the fixed one.
    any| Please cancel the appointment on the 9th, I'll book another.
    any| I want to add my daughter as an authorised user.
    travel| Can you find me a hotel near the airport for one night?
    travel| I'd like to know the cheapest way to get to the coast on Sunday.
    travel| Book me on the first bus after nine, please.
    hotel| Could we have a cot in the room for our baby?
    food| I'd like to order for collection at 6.
    food| Could you make it a table by the window?
    retail| Can you reserve the last one in the shop for me?
    software| Please upgrade us to the business tier from next month.
    bank| I'd like to dispute a transaction from last week.
    utility| Please send an engineer to read the meter, I can't reach it.
""", alone=0.35)

TRANSLATED = G("translated_neutral", "neutral", "open,ask,step,info", """
    any| Good afternoon, I would like to know how I change the email of my account.
    any| Ok, I will try this and I say you something.
    any| I have made the purchase by the website on the day 12.
    any| Yes, is the same number that you have.
    any| I am using the version of the application for the mobile.
    any| Good day, I would like to request the invoice of my order.
    any| I did not understand well, is it necessary to restart the device?
    any| Perfect, I will wait then for the email.
    any| Is possible to change the delivery to other address?
    any| I have the account since two years.
""")

TRANSLATED_NEGATIVE = G("translated_negative", "disappointment,annoyance", "open,step,check,done", """
    any| Good day, I have a problem with the login, it does not let me enter.
    any| I already did this procedure and it continues the same.
    any| The application does not synchronise my activities since some days.
    any| I am waiting for the refund since one month and nobody answers me.
    any| Again it appears the same message of error.
    any| I paid and the subscription continues inactive.
    any| It is the third time that I contact and the problem is not solved.
    any| I do not receive the code in my email, already I tried many times.
    any| The book that I bought does not appear in my library.
    any| This is not acceptable, I pay every month and it does not work.
""")

TRANSLATED_POSITIVE = G("translated_positive", "gratitude", "done,check,info", """
    any| Thank you very much for the attention.
    any| Ok, now it worked, thank you for the help.
    any| Very grateful for the quick resolution.
    any| Thanks, you were very kind.
    any| Now it appears correctly, thank you.
""")

DISAPPROVAL = G("disapproval", "disapproval,annoyance", "info,done,bad,offer", """
    any| No, that's not right. I never agreed to that.
    any| That's not what I asked for.
    any| No, you've got the wrong account.
    any| I don't think that's fair at all.
    any| That can't be right, I paid in full.
    any| No, I said the 14th, not the 4th.
    any| That's not what your colleague told me.
    any| I don't accept that explanation.
    any| No, that won't do, I need it this week.
    any| That's not my signature on the form.
    any| You're not listening to what I'm saying.
    any| That's the opposite of what it says on your website.
""")

BUILDING = G("building", "annoyance,anger", "sorry,wait,repeat,step", """
    any| I've said it three times now.
    any| Please stop apologising and just fix it.
    any| I don't want another callback, I want an answer now.
    any| How many more times do I have to go through this?
    any| You keep saying that but nothing ever happens.
    any| I've been patient, but this is getting ridiculous.
    any| No more holding, please. I've been here an hour.
    any| I already told you, it's the same problem as before.
    any| Every answer I get is a different excuse.
    any| This is really starting to annoy me.
    any| Can you actually do something, or should I call someone else?
    any| I'm losing my patience here.
    any| I've had the same conversation with your chatbot twice today.
    any| Honestly, just forget it.
    any| Why is it so hard to get a straight answer?
""")

CURIOUS = G("curious", "curiosity", "info,done", """
    any| Out of interest, why does it take five days?
    any| I'm curious, how does the smart meter send the readings?
    any| Interesting, so what happens to the old router?
    any| Just wondering, is the new plan popular?
    any| How come the price is different in the app?
    any| What's the reason the fee exists, if you don't mind me asking?
""")

PHONE_CLOSINGS = G("phone_closing", "gratitude", "else,done", """
    any| okay brilliant thanks very much bye
    any| lovely thank you bye bye
    any| right that's great thanks for your help
    any| cheers thanks a lot bye
    any| no that's it thank you
    any| okay thanks then bye
""", channel="phone", restyle=0.0)

PHONE_NEUTRAL = G("phone_neutral", "neutral", "ask,offer,info,else,step", """
    any| yeah that's right
    any| um yeah the one ending two two four
    any| no that's everything bye
    any| okay so I just wait for the text then
    any| yep yep go ahead
    any| hang on let me get the letter
    any| sorry can you say that again
    any| uh the fourteenth I think
    any| okay that's fine
    any| right okay no problem
""", channel="phone", restyle=0.0)

PHONE_NEGATIVE = G("phone_negative", "annoyance,disappointment", "step,check,sorry,open,wait", """
    any| no it's still doing the same thing
    any| I've been on the phone for ages already
    any| this is the third time I've rung about this
    any| no still nothing it's just not working
    any| look I just want it fixed
    any| I've done all that it doesn't make any difference
""", channel="phone", restyle=0.0)

GROUPS: tuple[Group, ...] = (
    REQUESTS, DETAILS, CONFIRM, POLITE, QUESTIONS, CLOSINGS, CLOSINGS_THANKS, NEUTRAL_ISSUES,
    PROGRESS, EXPLAIN, BOOKING,
    REPORTS, STILL_BROKEN, REPEATED, ANGER, DISSATISFIED, SARCASM, WORRY, SAD,
    LONG_COMPLAINTS, SOCIAL_COMPLAINTS, FAILED_OUTCOME,
    THANKS, PRAISE, APPROVAL, RELIEF, JOY, CARING, SOCIAL_POSITIVE, CONFUSION, SURPRISE,
    MORE_REQUESTS, TRANSLATED, TRANSLATED_NEGATIVE, TRANSLATED_POSITIVE, DISAPPROVAL, BUILDING,
    CURIOUS, PHONE_CLOSINGS, PHONE_NEUTRAL, PHONE_NEGATIVE,
)
