"""Receipt printers: our ESC/POS encoder, status decoding, byte transports and a simulator."""
