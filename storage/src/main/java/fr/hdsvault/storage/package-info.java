/** The storage module: arrives with its issue; see DESIGN.md. */
package fr.hdsvault.storage;
