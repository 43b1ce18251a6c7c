
BlogitsJ( bS<hZ>;U>fb§¾¶J¹=-,9>¼ÏÜ½UÚþ>{åd>¦Ö½