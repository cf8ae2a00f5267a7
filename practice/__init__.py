"""Headway: outcome tracking for headache and migraine massage practices."""
