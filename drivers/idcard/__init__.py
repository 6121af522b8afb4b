"""Second-generation ID-card readers (GA/T 467 "SAM" serial protocol): driver, decoder, simulator."""
