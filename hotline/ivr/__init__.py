"""The interactive voice menu: prompts, speech/keyword classification, self-help tips."""
