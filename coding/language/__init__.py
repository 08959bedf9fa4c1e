"""Read models over the text: word index, lemma search, coding suggestions, their classifier."""
