
/*
 * ngx_mcp: a QR code of a link's short URL, as SVG or PNG (GET
 * {prefix}links/{code}/qr of mcp_admin).  libqrencode makes the symbol,
 * libpng writes the PNG; the SVG is written here, one path of runs.
 */


#include "ngx_http_mcp_module.h"

#include <qrencode.h>
#include <png.h>


#define NGX_HTTP_MCP_QR_QUIET     4      /* modules of white around */
#define NGX_HTTP_MCP_QR_SCALE     8      /* pixels a module, by default */
#define NGX_HTTP_MCP_QR_SCALE_MAX 40


/* the PNG as libpng writes it: a chain of buffers */
typedef struct {
    ngx_http_request_t        *r;
    ngx_chain_t               *out;
    ngx_chain_t              **last;
    off_t                      len;
    ngx_uint_t                 failed;
} ngx_http_mcp_qr_png_t;


static void ngx_http_mcp_qr_free(void *data);
static ngx_int_t ngx_http_mcp_qr_svg(ngx_http_request_t *r, QRcode *qr,
    ngx_uint_t scale);
static ngx_int_t ngx_http_mcp_qr_png(ngx_http_request_t *r, QRcode *qr,
    ngx_uint_t scale);
static ngx_int_t ngx_http_mcp_qr_png_write(png_structp png, png_infop info,
    QRcode *qr, ngx_uint_t scale, u_char *row);
static void ngx_http_mcp_qr_png_data(png_structp png, png_bytep data,
    png_size_t len);
static void ngx_http_mcp_qr_png_flush(png_structp png);


static void
ngx_http_mcp_qr_free(void *data)
{
    QRcode  **qr = data;

    if (*qr) {
        QRcode_free(*qr);
    }
}


/*
 * Answers with a QR code of text: ?format=svg (the default) or png,
 * ?size=N pixels a module (1 to 40, default 8).
 */

ngx_int_t
ngx_http_mcp_qr_send(ngx_http_request_t *r, ngx_str_t *text)
{
    QRcode             **qr;
    ngx_int_t            rc, scale;
    ngx_str_t            format;
    ngx_pool_cleanup_t  *cln;

    ngx_str_set(&format, "svg");

    if (ngx_http_arg(r, (u_char *) "format", sizeof("format") - 1, &format)
        == NGX_OK
        && !(format.len == 3 && (ngx_strncmp(format.data, "svg", 3) == 0
                                 || ngx_strncmp(format.data, "png", 3) == 0)))
    {
        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_format",
                                       "format must be svg or png");
    }

    scale = NGX_HTTP_MCP_QR_SCALE;

    if (ngx_http_mcp_arg_number(r, "size", NGX_HTTP_MCP_QR_SCALE_MAX, &scale,
                                &rc)
        != NGX_OK)
    {
        return rc;
    }

    /* freed with the request, registered before it exists */
    cln = ngx_pool_cleanup_add(r->pool, sizeof(QRcode *));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    qr = cln->data;
    *qr = NULL;
    cln->handler = ngx_http_mcp_qr_free;

    *qr = QRcode_encodeData((int) text->len, text->data, 0, QR_ECLEVEL_M);
    if (*qr == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "QRcode_encodeData() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (format.data[0] == 'p') {
        return ngx_http_mcp_qr_png(r, *qr, (ngx_uint_t) scale);
    }

    return ngx_http_mcp_qr_svg(r, *qr, (ngx_uint_t) scale);
}


/* is the module at x, y (quiet zone included) dark? */

static ngx_inline ngx_uint_t
ngx_http_mcp_qr_dark(QRcode *qr, ngx_int_t x, ngx_int_t y)
{
    x -= NGX_HTTP_MCP_QR_QUIET;
    y -= NGX_HTTP_MCP_QR_QUIET;

    return x >= 0 && y >= 0 && x < qr->width && y < qr->width
           && (qr->data[y * qr->width + x] & 1);
}


static ngx_int_t
ngx_http_mcp_qr_svg(ngx_http_request_t *r, QRcode *qr, ngx_uint_t scale)
{
    u_char      *p;
    ngx_int_t    x, y, run, w;
    ngx_buf_t   *b;

    static ngx_str_t  type = ngx_string("image/svg+xml");

    w = qr->width + 2 * NGX_HTTP_MCP_QR_QUIET;

    /* at most one run every other module, each "M%d %dh%dv1h-%dz" */
    b = ngx_create_temp_buf(r->pool,
                            512 + (size_t) w * (w / 2 + 1)
                                  * (4 * NGX_INT_T_LEN + 8));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->last,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                    "width=\"%ui\" height=\"%ui\" viewBox=\"0 0 %i %i\" "
                    "shape-rendering=\"crispEdges\">"
                    "<rect width=\"%i\" height=\"%i\" fill=\"#fff\"/>"
                    "<path fill=\"#000\" d=\"",
                    w * scale, w * scale, w, w, w, w);

    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x += run) {
            for (run = 0; x + run < w && ngx_http_mcp_qr_dark(qr, x + run, y);
                 run++)
            {
                /* void */
            }

            if (run == 0) {
                run = 1;
                continue;
            }

            p = ngx_sprintf(p, "M%i %ih%iv1h-%iz", x, y, run, run);
        }
    }

    p = ngx_cpymem(p, "\"/></svg>\n", sizeof("\"/></svg>\n") - 1);
    b->last = p;

    return ngx_http_mcp_send(r, NGX_HTTP_OK, &type, b);
}


static ngx_int_t
ngx_http_mcp_qr_png(ngx_http_request_t *r, QRcode *qr, ngx_uint_t scale)
{
    u_char                 *row;
    ngx_int_t               rc;
    ngx_chain_t            *cl;
    png_structp             png;
    png_infop               info;
    ngx_http_mcp_qr_png_t   out;

    ngx_memzero(&out, sizeof(ngx_http_mcp_qr_png_t));
    out.r = r;
    out.last = &out.out;

    /* one bit a pixel */
    row = ngx_palloc(r->pool,
                     ((qr->width + 2 * NGX_HTTP_MCP_QR_QUIET) * scale + 7) / 8);
    if (row == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (png == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    info = png_create_info_struct(png);

    png_set_write_fn(png, &out, ngx_http_mcp_qr_png_data,
                     ngx_http_mcp_qr_png_flush);

    rc = (info != NULL)
         ? ngx_http_mcp_qr_png_write(png, info, qr, scale, row)
         : NGX_ERROR;

    png_destroy_write_struct(&png, info ? &info : NULL);

    if (rc != NGX_OK || out.failed || out.out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp: the PNG of a QR code could not be written");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = out.len;
    ngx_str_set(&r->headers_out.content_type, "image/png");
    r->headers_out.content_type_len = sizeof("image/png") - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (cl = out.out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out.out);
}


/*
 * The image, row by row; libpng reports its errors by longjmp() to here,
 * which is why this function has nothing of its own to clean up.
 */

static ngx_int_t
ngx_http_mcp_qr_png_write(png_structp png, png_infop info, QRcode *qr,
    ngx_uint_t scale, u_char *row)
{
    ngx_uint_t  x, y, w, bytes;

    if (setjmp(png_jmpbuf(png))) {
        return NGX_ERROR;
    }

    w = (qr->width + 2 * NGX_HTTP_MCP_QR_QUIET) * scale;
    bytes = (w + 7) / 8;

    png_set_IHDR(png, info, (png_uint_32) w, (png_uint_32) w, 1,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);

    png_write_info(png, info);

    for (y = 0; y < w; y++) {
        /* 1 is white in a gray image */
        ngx_memset(row, 0xff, bytes);

        for (x = 0; x < w; x++) {
            if (ngx_http_mcp_qr_dark(qr, (ngx_int_t) (x / scale),
                                     (ngx_int_t) (y / scale)))
            {
                row[x / 8] &= (u_char) ~(0x80 >> (x % 8));
            }
        }

        png_write_row(png, row);
    }

    png_write_end(png, info);

    return NGX_OK;
}


static void
ngx_http_mcp_qr_png_data(png_structp png, png_bytep data, png_size_t len)
{
    ngx_http_mcp_qr_png_t *out = png_get_io_ptr(png);

    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_create_temp_buf(out->r->pool, len);
    cl = ngx_alloc_chain_link(out->r->pool);

    if (b == NULL || cl == NULL) {
        out->failed = 1;
        return;
    }

    b->last = ngx_cpymem(b->last, data, len);

    cl->buf = b;
    cl->next = NULL;

    *out->last = cl;
    out->last = &cl->next;
    out->len += len;
}


static void
ngx_http_mcp_qr_png_flush(png_structp png)
{
    /* the whole image is sent once written */
}
