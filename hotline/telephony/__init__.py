"""What we ask of a carrier, behind one small interface (see port.py)."""
