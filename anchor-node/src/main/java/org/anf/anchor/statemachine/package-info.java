@NullMarked
package org.anf.anchor.statemachine;

import org.jspecify.annotations.NullMarked;
