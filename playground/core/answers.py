"""The one phrase every prompt asks the model to reply when the documents do not hold the answer.

It lives in the lowest layer because questions (unanswerable gold answers), prompts and the metrics all read it.
"""

NOT_FOUND = "not in the documents"
