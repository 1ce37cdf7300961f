/* keys.c - key codes to actions (see keys.h). The help screen's key table
 * (help.c) describes the same bindings: change both together. */
#include "config.h"

#include "keys.h"

#include <curses.h>

#define CONTROL(letter) ((letter) & 0x1f)
#define ESCAPE 27

action keys_decode(int key)
{
    if (key >= '1' && key < '1' + KEYS_MAX_VIEWS)
        return (action)(ACTION_VIEW_FIRST + (key - '1'));
    switch (key) {
    case KEY_F(10):
    case 'q':
    case 'Q':
        return ACTION_QUIT;
    case KEY_F(1):
    case 'h':
    case '?':
        return ACTION_HELP;
    case KEY_UP:
        return ACTION_UP;
    case KEY_DOWN:
        return ACTION_DOWN;
    case KEY_PPAGE:
        return ACTION_PAGE_UP;
    case KEY_NPAGE:
        return ACTION_PAGE_DOWN;
    case KEY_HOME:
        return ACTION_HOME;
    case KEY_END:
        return ACTION_END;
    case '\n':
    case '\r':
    case KEY_ENTER:
        return ACTION_ENTER;
    case ESCAPE:
    case KEY_BACKSPACE:
        return ACTION_BACK;
    case KEY_F(3):
    case '/':
        return ACTION_SEARCH;
    case 'n':
        return ACTION_SEARCH_NEXT;
    case KEY_F(4):
    case '\\':
        return ACTION_FILTER;
    case KEY_F(6):
    case '>':
    case '.':
        return ACTION_SORT_NEXT;
    case '<':
    case ',':
        return ACTION_SORT_PREVIOUS;
    case 'I':
        return ACTION_SORT_INVERT;
    case 'p':
    case 'Z':
        return ACTION_PAUSE;
    case '+':
    case '=':
        return ACTION_FASTER;
    case '-':
    case '_':
        return ACTION_SLOWER;
    case 't':
        return ACTION_TIMELINE;
    case '\t':
        return ACTION_NEXT_VIEW;
    case KEY_BTAB:
        return ACTION_PREVIOUS_VIEW;
    case KEY_RESIZE:
        return ACTION_RESIZE;
    case KEY_MOUSE:
        return ACTION_MOUSE;
    case CONTROL('l'):
        return ACTION_REDRAW;
    default:
        return ACTION_NONE;
    }
}
