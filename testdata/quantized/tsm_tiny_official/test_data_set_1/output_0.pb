

BlogitsJ(χ»'?S2δΎσ:”½ΣqZ½¥¦y½rκGΏς:”ΎΜπFΏN±P??}?