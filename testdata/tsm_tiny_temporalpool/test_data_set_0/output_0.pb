
BlogitsJ(cS‰¾Sez>§H@>g	Ñ¾Q0>U‚Ü=ôšš½Œ¸ø=J@¤<öâ’>