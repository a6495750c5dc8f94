package fr.hdsvault.api.security;

/** The SMART v2 permission letters: what an interaction does to a resource type. */
public enum Permission {
    CREATE('c'), READ('r'), UPDATE('u'), DELETE('d'), SEARCH('s');

    private final char letter;

    Permission(char letter) {
        this.letter = letter;
    }

    public char letter() {
        return letter;
    }
}
